"""Shared fixtures: the original code's reference outputs and the tiny checkpoints converted through the CLI."""

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from social_mae_hf import SocialMAEConfig
from social_mae_hf.cli import main as cli_main

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = FIXTURES / "reference"

# Heads cannot be read off shapes; these are the settings the fixtures were made with (see their README).
TINY_HEADS = ["--num-attention-heads", "4", "--decoder-num-attention-heads", "4"]
CHECKPOINTS = ["social_mae_pretrain", "social_mae_finetune", "cav_mae_pretrain", "cav_mae_finetune"]


@pytest.fixture(scope="session")
def reference() -> dict[str, torch.Tensor]:
    return load_file(REFERENCE / "reference_outputs.safetensors")


@pytest.fixture(scope="session")
def social_pixels(reference) -> torch.Tensor:
    """The originals' (B, C, H, W, T) video as our (B, T, C, H, W) `pixel_values`."""
    return reference["input.video_bchwt"].permute(0, 4, 1, 2, 3).contiguous()


@pytest.fixture(scope="session")
def cav_pixels(reference) -> torch.Tensor:
    return reference["input.image_bchw"].unsqueeze(1).contiguous()


@pytest.fixture(scope="session")
def converted(tmp_path_factory) -> dict[str, Path]:
    """Every tiny checkpoint converted with `social-mae convert`, as a user would."""
    root = tmp_path_factory.mktemp("converted")
    folders = {}
    for name in CHECKPOINTS:
        folders[name] = root / name
        assert cli_main(["convert", str(REFERENCE / f"{name}_tiny.pth"), str(folders[name]), *TINY_HEADS]) == 0
    folders["social_mae_regression"] = root / "social_mae_regression"
    args = ["convert", str(REFERENCE / "social_mae_finetune_tiny.pth"), str(folders["social_mae_regression"])]
    assert cli_main([*args, *TINY_HEADS, "--task", "regression"]) == 0
    return folders


def tiny_config(**overrides) -> SocialMAEConfig:
    """A small random model: fast enough for gradient checks on two CPU cores."""
    values = {
        "hidden_size": 32,
        "num_attention_heads": 4,
        "num_modality_layers": 2,
        "num_fusion_layers": 1,
        "intermediate_size": 64,
        "audio_length": 64,
        "image_size": 32,
        "num_frames": 4,
        "tubelet_size": 2,
        "decoder_hidden_size": 16,
        "decoder_num_hidden_layers": 1,
        "decoder_num_attention_heads": 2,
        "decoder_intermediate_size": 32,
        "num_labels": 3,
    }
    values.update(overrides)
    return SocialMAEConfig(**values)


def tiny_inputs(config: SocialMAEConfig, batch: int = 2, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "input_values": torch.randn(batch, config.audio_length, config.num_mel_bins, generator=generator),
        "pixel_values": torch.randn(
            batch,
            config.num_frames,
            config.num_channels,
            config.image_size,
            config.image_size,
            generator=generator,
        ),
    }
