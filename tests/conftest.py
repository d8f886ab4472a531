"""Shared fixtures: the originals' reference outputs, tiny checkpoints converted through the CLI, and synthetic media
written once per session, only when a test asks for it."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from social_mae_hf import SocialMAEConfig, synthetic
from social_mae_hf.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
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


# name -> write_clip / write_audio arguments. Small frames keep encoding and decoding fast.
CLIPS = {
    "c25.mp4": dict(duration_s=6.0, fps=25, width=64, height=48, audio="speech"),
    "c30.mp4": dict(duration_s=6.0, fps=30, width=64, height=48, audio="tone", tone_hz=660.0),
    "short.mp4": dict(duration_s=2.0, fps=25, width=64, height=48),
    "one_second.mp4": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.mkv": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.webm": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.avi": dict(duration_s=1.0, fps=25, width=64, height=48),
    "one_second.mov": dict(duration_s=1.0, fps=25, width=64, height=48),
    "noaudio.mp4": dict(duration_s=1.0, fps=25, width=64, height=48, audio=None),
    "stereo.mp4": dict(duration_s=1.0, fps=25, width=64, height=48, channels=2),
    "odd.mp4": dict(duration_s=1.0, fps=10, width=321, height=241),
    "gop.mp4": dict(duration_s=8.0, fps=25, width=64, height=48, gop_size=12),
    # Irregular presentation times (variable frame rate), ~22 fps on average.
    "vfr.mp4": dict(
        width=64,
        height=48,
        frame_times=np.round(np.cumsum(np.r_[0, np.random.default_rng(1).uniform(0.02, 0.07, 89)]), 4),
    ),
}
AUDIO_FILES = ("speech.wav", "speech.flac", "speech.mp3", "speech.ogg", "speech.m4a")


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """media(name) -> path of a synthetic clip or audio file, written on first use."""
    root = tmp_path_factory.mktemp("media")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            path = root / name
            if name in CLIPS:
                synthetic.write_clip(path, **CLIPS[name])
            elif name in AUDIO_FILES:
                synthetic.write_audio(path, speech_waveform())
            else:
                raise KeyError(name)
            cache[name] = path
        return cache[name]

    return get


def speech_waveform() -> np.ndarray:
    return synthetic.make_waveform(1.0, kind="speech", tone_hz=150.0, seed=3)


# ---- training -------------------------------------------------------------------------------------------------

_EXAMPLES = {}


def load_example(name: str):
    """`examples/{name}.py` as a module (loaded once), so that tests call its `main(argv)` and read its argument
    dataclasses as a user's `python examples/{name}.py ...` would."""
    if name not in _EXAMPLES:
        spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _EXAMPLES[name] = module
    return _EXAMPLES[name]


# A small Social-MAE (4 frames in tubelets of 2, 32 px, 0.64 s of audio) for end-to-end training runs.
TRAIN_OVERRIDES = (
    "hidden_size=64,num_attention_heads=4,num_modality_layers=2,num_fusion_layers=1,intermediate_size=128,"
    "audio_length=64,image_size=32,num_frames=4,tubelet_size=2,legacy_video_target_order=false,"
    "decoder_hidden_size=32,decoder_num_hidden_layers=1,decoder_num_attention_heads=4,decoder_intermediate_size=64"
)
# name -> (task, clips per split, manifest format)
SYNTHETIC_SETS = {
    "classification": ("classification", {"train": 64, "validation": 32}, "csv"),
    "regression": ("regression", {"train": 64, "validation": 32}, "jsonl"),
    "pretraining": ("pretraining", {"train": 64, "validation": 32}, "csv"),
}


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory):
    """synthetic_set(name) -> {split: manifest path} of a learnable synthetic dataset, written on first use."""
    from social_mae_hf.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic_sets")
    cache: dict[str, dict[str, Path]] = {}

    def get(name: str) -> dict[str, Path]:
        if name not in cache:
            task, clips, fmt = SYNTHETIC_SETS[name]
            cache[name] = write_synthetic_dataset(root / name, task, num_clips=clips, manifest_format=fmt, seed=1)
        return cache[name]

    return get


@pytest.fixture
def one_torch_thread():
    """Training with DataLoader workers on a 2-core machine: the main process's OpenMP threads would spin against
    the workers (10x slower), so the run gets one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
