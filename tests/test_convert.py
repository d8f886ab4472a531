"""Converted tiny checkpoints reproduce the original code's outputs; bad checkpoints are refused clearly."""

import argparse
import json
import os

import numpy as np
import pytest
import torch
from conftest import REFERENCE, TINY_HEADS
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, AutoModelForPreTraining, AutoProcessor

from social_mae_hf import (
    AutoModelForAudioVisualClassification,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEProcessor,
)
from social_mae_hf.cli import main as cli_main
from social_mae_hf.conversion.convert import CheckpointError, convert_checkpoint, parse_id2label

ATOL = 1e-5

# our output field -> the originals' name in reference_outputs
PRETRAINING_FIELDS = {
    "loss": "loss",
    "reconstruction_loss": "loss_mae",
    "audio_reconstruction_loss": "loss_mae_audio",
    "video_reconstruction_loss": "loss_mae_video",
    "contrastive_loss": "loss_contrastive",
    "contrastive_accuracy": "contrastive_accuracy",
    "audio_mask": "mask_audio",
    "video_mask": "mask_video",
    "audio_ids_restore": "ids_restore_audio",
    "video_ids_restore": "ids_restore_video",
    "audio_logits": "pred_audio",
    "video_logits": "pred_video",
    "last_hidden_state": "latent",
    "audio_contrastive_tokens": "contrastive_audio_tokens",
    "video_contrastive_tokens": "contrastive_video_tokens",
}


def assert_close(ours: torch.Tensor, theirs: torch.Tensor, name: str) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape), f"{name}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
    if theirs.dtype in (torch.int64, torch.int32):
        assert torch.equal(ours.to(theirs.dtype), theirs), f"{name}: indices differ"
        return
    diff = (ours.float() - theirs.float()).abs().max().item()
    assert diff <= ATOL, f"{name}: max abs diff {diff:.3e} > {ATOL}"


def pixels_for(family: str, social_pixels, cav_pixels):
    return social_pixels if family == "social_mae" else cav_pixels


@pytest.mark.parametrize("family", ["social_mae", "cav_mae"])
def test_pretraining_checkpoint_reproduces_every_reference_output(
    family, converted, reference, social_pixels, cav_pixels
):
    model = AutoModelForPreTraining.from_pretrained(converted[f"{family}_pretrain"])
    assert type(model) is SocialMAEForPreTraining
    assert model.config.legacy_video_target_order is (family == "social_mae")
    noise_video = reference[f"input.noise_video_{'social' if family == 'social_mae' else 'cav'}"]
    with torch.no_grad():
        outputs = model(
            input_values=reference["input.audio"],
            pixel_values=pixels_for(family, social_pixels, cav_pixels),
            audio_noise=reference["input.noise_audio"],
            video_noise=noise_video,
        )
    for ours, theirs in PRETRAINING_FIELDS.items():
        assert_close(outputs[ours], reference[f"{family}_pretrain.{theirs}"], f"{family}.{ours}")


def test_social_mae_video_loss_depends_on_the_legacy_target_order(converted, reference, social_pixels):
    """The fixture's video loss is only reproduced with the quirk on; pairing tokens correctly changes it."""
    model = SocialMAEForPreTraining.from_pretrained(converted["social_mae_pretrain"], legacy_video_target_order=False)
    with torch.no_grad():
        outputs = model(
            input_values=reference["input.audio"],
            pixel_values=social_pixels,
            audio_noise=reference["input.noise_audio"],
            video_noise=reference["input.noise_video_social"],
        )
    expected = reference["social_mae_pretrain.loss_mae_video"]
    assert abs(outputs.video_reconstruction_loss.item() - expected.item()) > 1e-3
    assert_close(outputs.audio_reconstruction_loss, reference["social_mae_pretrain.loss_mae_audio"], "audio")


def test_cav_mae_forward_feat_tokens(converted, reference, cav_pixels):
    """CAV-MAE's `forward_feat` is our single-modality path with modality-specific norms."""
    model = AutoModel.from_pretrained(converted["cav_mae_pretrain"])
    assert type(model) is SocialMAEModel
    audio, video = reference["input.audio"], cav_pixels
    with torch.no_grad():
        audio_tokens = model(input_values=audio).last_hidden_state
        video_tokens = model(pixel_values=video).last_hidden_state
        audio_features = model.get_audio_features(audio).pooler_output
        video_features = model.get_video_features(video).pooler_output
    assert_close(audio_tokens, reference["cav_mae_pretrain.feat_audio_tokens"], "feat_audio_tokens")
    assert_close(video_tokens, reference["cav_mae_pretrain.feat_video_tokens"], "feat_video_tokens")
    assert_close(audio_features, reference["cav_mae_pretrain.feat_audio_tokens"].mean(1), "audio features")
    assert_close(video_features, reference["cav_mae_pretrain.feat_video_tokens"].mean(1), "video features")


@pytest.mark.parametrize("family", ["social_mae", "cav_mae"])
def test_finetuned_checkpoint_reproduces_logits_in_every_mode(family, converted, reference, social_pixels, cav_pixels):
    folder = converted[f"{family}_finetune"]
    model = AutoModelForAudioVisualClassification.from_pretrained(folder)
    assert type(model) is SocialMAEForAudioVisualClassification
    audio, video = reference["input.audio"], pixels_for(family, social_pixels, cav_pixels)
    expected = f"{family}_finetune.logits_"
    with torch.no_grad():
        assert_close(model(input_values=audio, pixel_values=video).logits, reference[expected + "multimodal"], "mm")
        assert_close(model(input_values=audio).logits, reference[expected + "audioonly"], "audioonly")
        assert_close(model(pixel_values=video).logits, reference[expected + "videoonly"], "videoonly")
    if family == "cav_mae":
        averaged = AutoModelForAudioVisualClassification.from_pretrained(
            folder, single_modality_strategy="average_fusion"
        )
        with torch.no_grad():
            assert_close(averaged(input_values=audio).logits, reference[expected + "missingaudioonly"], "missing a")
            assert_close(averaged(pixel_values=video).logits, reference[expected + "missingvideoonly"], "missing v")


def test_regression_conversion_uses_the_same_head(converted, reference, social_pixels):
    model = SocialMAEForRegression.from_pretrained(converted["social_mae_regression"])
    assert model.config.problem_type == "regression"
    assert model.config.architectures == ["SocialMAEForRegression"]
    with torch.no_grad():
        logits = model(input_values=reference["input.audio"], pixel_values=social_pixels).logits
    assert_close(logits, reference["social_mae_finetune.logits_multimodal"], "regression logits")


def test_converted_folder_is_safetensors_with_inferred_config(converted):
    folder = converted["social_mae_pretrain"]
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin"))
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "social-mae"
    expected = {
        "hidden_size": 32,
        "num_modality_layers": 11,
        "num_fusion_layers": 1,
        "intermediate_size": 128,
        "audio_length": 64,
        "image_size": 32,
        "num_frames": 8,
        "tubelet_size": 2,
        "decoder_hidden_size": 16,
        "decoder_num_hidden_layers": 2,
        "num_attention_heads": 4,
        "layer_norm_eps": 1e-5,
    }
    assert {key: getattr(config, key) for key in expected} == expected
    cav = AutoConfig.from_pretrained(converted["cav_mae_finetune"])
    assert (cav.num_frames, cav.tubelet_size, cav.num_labels) == (1, 1, 5)


def test_every_original_tensor_lands_in_the_model(converted):
    """Nothing is dropped except the per-modality norms of non-fusion layers, which the originals never read."""
    original = torch.load(REFERENCE / "social_mae_pretrain_tiny.pth", weights_only=True)
    ours = load_file(converted["social_mae_pretrain"] / "model.safetensors")
    dropped = 2 * 2 * 2 * (11 + 11 + 2)  # (norm1_x, norm2_x) x (a, v) x (weight, bias) x layers
    assert len(ours) == len(original) - dropped
    fc1 = original["module.blocks_u.0.mlp.fc1.weight"]
    assert torch.equal(ours["social_mae.encoder.fusion_layers.0.mlp.fc1.weight"], fc1)
    norm = original["module.blocks_u.0.norm1_v.weight"]
    assert torch.equal(ours["social_mae.encoder.fusion_layers.0.video_layernorm_before.weight"], norm)


@pytest.mark.parametrize(
    ("name", "preset", "frames"), [("social_mae_pretrain", "social_mae", 8), ("cav_mae_finetune", "cav_mae", 1)]
)
def test_converted_folder_has_the_matching_processor(converted, name, preset, frames):
    processor = AutoProcessor.from_pretrained(converted[name])
    assert type(processor) is SocialMAEProcessor
    expected = getattr(SocialMAEProcessor, preset)(image_size=32, max_length=64, num_frames=frames)
    for part, auto_class in (("feature_extractor", "AutoFeatureExtractor"), ("video_processor", "AutoVideoProcessor")):
        settings = getattr(processor, part).to_dict()
        auto_map = settings.pop("auto_map")  # the remote-code entries of a Hub-ready folder
        assert auto_class in auto_map and "AutoProcessor" in auto_map
        assert settings == getattr(expected, part).to_dict()
    model = AutoModel.from_pretrained(converted[name])
    batch = processor(
        videos=np.zeros((30, 40, 48, 3), np.uint8),
        audio=np.sin(np.linspace(0, 400, 16000)).astype(np.float32),
        sampling_rate=16000,
        video_fps=25,
    )
    assert batch["pixel_values"].shape == (1, frames, 3, 32, 32)
    assert batch["input_values"].shape == (1, 64, 128)
    with torch.no_grad():
        assert model(**batch).last_hidden_state.shape[0] == 1


def test_id2label_is_written_to_the_config(tmp_path):
    names = ["neutral", "happy", "sad", "angry", "fear", "disgust"]
    out = tmp_path / "crema"
    args = [str(REFERENCE / "social_mae_finetune_tiny.pth"), str(out), *TINY_HEADS, "--id2label", ",".join(names)]
    assert cli_main(["convert", *args, "--no-feature-extractor"]) == 0
    assert not (out / "processor_config.json").exists() and not (out / "preprocessor_config.json").exists()
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {str(i): name for i, name in enumerate(names)}
    assert config["label2id"]["sad"] == 2


def test_converting_onto_a_folder_needs_overwrite_and_keeps_its_label_names(tmp_path, capsys):
    finetuned = str(REFERENCE / "social_mae_finetune_tiny.pth")
    out = tmp_path / "crema"
    names = ["neutral", "happy", "sad", "angry", "fear", "disgust"]
    assert cli_main(["convert", finetuned, str(out), *TINY_HEADS, "--id2label", ",".join(names)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    assert cli_main(["convert", finetuned, str(out), *TINY_HEADS]) == 2
    assert f"{out}: is not empty; pass --overwrite" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched

    def labels():
        return list(json.loads((out / "config.json").read_text())["id2label"].values())

    assert cli_main(["convert", finetuned, str(out), *TINY_HEADS, "--overwrite"]) == 0
    assert "kept the label names" in capsys.readouterr().out
    assert labels() == names
    assert cli_main(["convert", finetuned, str(out), *TINY_HEADS, "--overwrite", "--id2label", "a,b,c,d,e,f"]) == 0
    assert labels() == list("abcdef")
    cav = str(REFERENCE / "cav_mae_finetune_tiny.pth")  # a 5-output head: 6 names cannot be kept
    assert cli_main(["convert", cav, str(out), "--num-attention-heads", "4", "--overwrite"]) == 0
    assert "not keeping the 6 label names" in capsys.readouterr().out
    assert labels() == [f"LABEL_{i}" for i in range(5)]

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert cli_main(["convert", finetuned, str(other), *TINY_HEADS]) == 2
    assert cli_main(["convert", finetuned, str(other / "notes.txt"), *TINY_HEADS]) == 2
    assert "notes.txt: is a file" in capsys.readouterr().err
    assert cli_main(["convert", finetuned, str(tmp_path / "empty"), *TINY_HEADS]) == 0  # a new folder is fine


@pytest.fixture()
def umask_027():
    old = os.umask(0o027)
    yield 0o640
    os.umask(old)


def test_converted_files_are_readable_as_the_umask_allows(tmp_path, umask_027):
    out = tmp_path / "out"
    assert cli_main(["convert", str(REFERENCE / "cav_mae_finetune_tiny.pth"), str(out), *TINY_HEADS]) == 0
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert modes["model.safetensors"] == modes["config.json"] == umask_027  # not safetensors' 0600
    assert set(modes.values()) == {umask_027}


def test_checkpoint_without_module_prefix_converts_identically(tmp_path, converted):
    state = torch.load(REFERENCE / "cav_mae_finetune_tiny.pth", weights_only=True)
    path = tmp_path / "plain.pth"
    torch.save({key.removeprefix("module."): value for key, value in state.items()}, path)
    model = convert_checkpoint(path, num_attention_heads=4)
    reference_model = SocialMAEForAudioVisualClassification.from_pretrained(converted["cav_mae_finetune"])
    for (name, ours), (_, theirs) in zip(model.state_dict().items(), reference_model.state_dict().items()):
        assert torch.equal(ours, theirs), name


# ---- refusals ----------------------------------------------------------------------------------------------


def _edited_checkpoint(tmp_path, edit) -> str:
    state = dict(torch.load(REFERENCE / "social_mae_finetune_tiny.pth", weights_only=True))
    edit(state)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    return str(path)


def test_missing_tensor_is_named(tmp_path):
    path = _edited_checkpoint(tmp_path, lambda sd: sd.pop("module.blocks_v.3.norm2_a.bias"))
    with pytest.raises(CheckpointError, match=r"missing tensors: \['blocks_v\.3\.norm2_a\.bias'\]"):
        convert_checkpoint(path, num_attention_heads=4)


def test_unknown_tensor_is_named(tmp_path):
    path = _edited_checkpoint(tmp_path, lambda sd: sd.__setitem__("module.mlp_head2.0.weight", torch.ones(32)))
    with pytest.raises(CheckpointError, match=r"unknown tensors: \['mlp_head2\.0\.weight'\]"):
        convert_checkpoint(path, num_attention_heads=4)


def test_misshaped_tensor_is_named(tmp_path):
    path = _edited_checkpoint(tmp_path, lambda sd: sd.__setitem__("module.blocks_a.2.attn.proj.bias", torch.ones(31)))
    with pytest.raises(CheckpointError, match=r"mis-shaped tensors: \['blocks_a\.2\.attn\.proj\.bias \(31,\)"):
        convert_checkpoint(path, num_attention_heads=4)


def test_mixed_prefixes_are_refused(tmp_path):
    def edit(sd):
        sd["norm.weight"] = sd.pop("module.norm.weight")

    with pytest.raises(CheckpointError, match=r"some keys start with `module\.`"):
        convert_checkpoint(_edited_checkpoint(tmp_path, edit), num_attention_heads=4)


def test_corrupt_and_truncated_files_are_refused(tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00\x01 not a checkpoint" * 50)
    with pytest.raises(CheckpointError, match=r"garbage\.pth: cannot be read as a PyTorch checkpoint"):
        convert_checkpoint(garbage)
    data = (REFERENCE / "cav_mae_finetune_tiny.pth").read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot be read"):
        convert_checkpoint(truncated)


def test_pickled_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "object.pth"
    torch.save({"args": argparse.Namespace(lr=0.1), "weight": torch.ones(2)}, path)
    with pytest.raises(CheckpointError, match="weights_only=True"):
        convert_checkpoint(path)


def test_foreign_checkpoint_is_refused(tmp_path):
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.ones(64, 3, 7, 7), "fc.weight": torch.ones(10, 64)}, path)
    with pytest.raises(CheckpointError, match="not an original Social-MAE or CAV-MAE checkpoint"):
        convert_checkpoint(path)


def test_missing_file_and_directory_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        convert_checkpoint(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="is a directory"):
        convert_checkpoint(tmp_path)


def test_wrong_frame_count_is_explained():
    with pytest.raises(CheckpointError, match="is --num-frames 6 right"):
        convert_checkpoint(REFERENCE / "social_mae_pretrain_tiny.pth", num_frames=6, num_attention_heads=4)


def test_label_count_mismatch_is_refused():
    with pytest.raises(CheckpointError, match="6 outputs but --id2label gives 2"):
        convert_checkpoint(REFERENCE / "social_mae_finetune_tiny.pth", num_attention_heads=4, id2label="a,b")


def test_heads_that_do_not_divide_the_width_are_refused():
    with pytest.raises(
        CheckpointError, match=r"--num-attention-heads 12: must divide the width 32 .*\[1, 2, 4, 8, 16, 32\]"
    ):
        convert_checkpoint(REFERENCE / "social_mae_finetune_tiny.pth")
    with pytest.raises(CheckpointError, match=r"--num-attention-heads 0: must divide the width 32"):
        convert_checkpoint(REFERENCE / "social_mae_finetune_tiny.pth", num_attention_heads=0)
    with pytest.raises(CheckpointError, match=r"--decoder-num-attention-heads 3: must divide the width 16 "):
        convert_checkpoint(
            REFERENCE / "social_mae_pretrain_tiny.pth", num_attention_heads=4, decoder_num_attention_heads=3
        )


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        (
            32,
            r"--num-frames 32 would make frames of 16 px, a single patch each .* fit 2 frames of 64 px, 8 frames of 32 px\.",
        ),
        (0, r"--num-frames 0: must be a positive multiple of the tubelet size 2"),
        (-2, r"--num-frames -2: must be a positive multiple"),
        (3, r"--num-frames 3: must be a positive multiple of the tubelet size 2"),
    ],
)
def test_frame_counts_that_contradict_the_shapes_are_refused(frames, message):
    with pytest.raises(CheckpointError, match=message):
        convert_checkpoint(REFERENCE / "social_mae_pretrain_tiny.pth", num_frames=frames, num_attention_heads=4)


def test_frame_count_that_the_shapes_cannot_tell_is_said():
    notes = []
    model = convert_checkpoint(
        REFERENCE / "social_mae_finetune_tiny.pth", num_frames=2, num_attention_heads=4, log=notes.append
    )
    assert (model.config.num_frames, model.config.image_size) == (2, 64)
    assert notes == [
        "video: 2 frames of 64 px (--num-frames); pos_embed_v's 16 tokens would also fit 8 frames of 32 px: shapes "
        "cannot tell, check --num-frames if the model took another"
    ]
    with pytest.raises(CheckpointError, match="a CAV-MAE checkpoint takes one frame"):
        convert_checkpoint(REFERENCE / "cav_mae_finetune_tiny.pth", num_frames=8, num_attention_heads=4)


def test_repeated_label_names_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"repeated: 'sad' \(outputs \[2, 5\]\)"):
        convert_checkpoint(
            REFERENCE / "social_mae_finetune_tiny.pth", num_attention_heads=4, id2label="a,b,sad,c,d,sad"
        )
    args = ["convert", str(REFERENCE / "social_mae_finetune_tiny.pth"), str(tmp_path / "x"), *TINY_HEADS]
    assert cli_main([*args, "--id2label", '{"0": "a", "1": "a", "2": "b", "3": "c", "4": "d", "5": "e"}']) == 2
    assert "--id2label: each output needs its own name; repeated: 'a' (outputs [0, 1])" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_label_mapping_with_keys_that_are_not_indices_is_refused_alike_from_python_and_json():
    # A dict from Python and the same mapping as JSON text get the one message naming --id2label.
    for given in ({"anger": "0"}, '{"anger": "0"}'):
        with pytest.raises(
            ValueError, match=r"--id2label: the keys of a mapping must be output indices, got \['anger'\]"
        ):
            parse_id2label(given)


def test_nan_and_infinite_weights_are_refused(tmp_path):
    def damage(sd):
        sd["module.blocks_v.1.mlp.fc2.bias"][3] = float("nan")
        sd["module.pos_embed_a"][0, 0, :2] = float("inf")

    with pytest.raises(CheckpointError) as error:
        convert_checkpoint(_edited_checkpoint(tmp_path, damage), num_attention_heads=4)
    assert "tensors with NaN or infinite values: ['module.blocks_v.1.mlp.fc2.bias (1 of 32 values)', " in str(
        error.value
    )
    assert "'module.pos_embed_a (2 of 1024 values)'" in str(error.value)


def test_cli_reports_errors_on_stderr(tmp_path, capsys):
    assert cli_main(["convert", str(tmp_path / "missing.pth"), str(tmp_path / "out")]) == 2
    assert "missing.pth: no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_head_count_the_tensors_cannot_check_is_warned_about_and_recorded(tmp_path, caplog):
    """12 heads and 8 heads give tensors of the same shapes: a count unlike the released models' is said, and the
    options the conversion took are kept in config.json."""
    folder = tmp_path / "eight"
    with caplog.at_level("WARNING", logger="social_mae_hf.conversion.convert"):
        model = convert_checkpoint(REFERENCE / "social_mae_finetune_tiny.pth", folder, num_attention_heads=8)
    assert model.config.num_attention_heads == 8
    assert "--num-attention-heads 8 differs from the released models' 12" in caplog.text
    assert "converts without an error and gives different outputs" in caplog.text
    saved = json.loads((folder / "config.json").read_text())
    assert saved["conversion"] == {
        "checkpoint": "social_mae_finetune_tiny.pth",
        "family": "social-mae",
        "stage": "finetuning",
        "num_frames": 8,
        "num_attention_heads": 8,
        "task": "classification",
    }
    caplog.clear()
    with caplog.at_level("WARNING", logger="social_mae_hf.conversion.convert"):
        pretraining = convert_checkpoint(
            REFERENCE / "social_mae_pretrain_tiny.pth", num_attention_heads=4, decoder_num_attention_heads=4
        )
    assert "--decoder-num-attention-heads 4 differs from the released models' 16" in caplog.text
    assert pretraining.config.conversion["decoder_num_attention_heads"] == 4
