"""Original Social-MAE / CAV-MAE `.pth` checkpoints -> `save_pretrained` folders.

The original checkpoints are `state_dict`s saved from `nn.DataParallel` (keys start with `module.`). Nothing is
unpickled beyond tensors (`weights_only=True`). Every tensor is accounted for: the converter refuses a checkpoint
with unknown, missing or mis-shaped tensors, listing them, rather than silently loading a partial model.

Two groups of original tensors are verified and then dropped because the originals' forward never reads them:
the per-modality LayerNorms (`norm1_a`, `norm2_a`, `norm1_v`, `norm2_v`) of the modality-specific and decoder
layers. Dropping them keeps every parameter of the port in use (DDP needs no unused-parameter search).
"""

import json
import logging
import math
import os
import pickle
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from huggingface_hub.errors import StrictDataclassError

from ..configuration_social_mae import SocialMAEConfig
from ..files import open_permissions
from ..modeling_social_mae import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEPreTrainedModel,
)
from ..processing_social_mae import SocialMAEProcessor

Task = Literal["classification", "regression"]

logger = logging.getLogger(__name__)

# Widths and head counts of the released checkpoints (both families): (option, width, heads). Head counts are not in
# the tensors, so a checkpoint of another width, or another count given, is converted on the user's word.
_RELEASED_HEADS = {
    "encoder": ("--num-attention-heads", 768, 12),
    "decoder": ("--decoder-num-attention-heads", 512, 16),
}

_LAYER_RENAMES = {
    "norm1": "layernorm_before",
    "norm2": "layernorm_after",
    "norm1_a": "audio_layernorm_before",
    "norm2_a": "audio_layernorm_after",
    "norm1_v": "video_layernorm_before",
    "norm2_v": "video_layernorm_after",
    "attn.qkv": "attention.qkv",
    "attn.proj": "attention.proj",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
}
_UNUSED_NORMS = ("norm1_a", "norm2_a", "norm1_v", "norm2_v")
_STACKS = {
    "blocks_a": "social_mae.encoder.audio_layers",
    "blocks_v": "social_mae.encoder.video_layers",
    "blocks_u": "social_mae.encoder.fusion_layers",
    "decoder_blocks": "decoder.layers",
}
_FLAT_RENAMES = {
    "patch_embed_a.proj": "social_mae.embeddings.audio_patch_embeddings.projection",
    "patch_embed_v.proj": "social_mae.embeddings.video_patch_embeddings.projection",
    "pos_embed_a": "social_mae.embeddings.audio_position_embeddings",
    "pos_embed_v": "social_mae.embeddings.video_position_embeddings",
    "modality_a": "social_mae.embeddings.audio_modality_embedding",
    "modality_v": "social_mae.embeddings.video_modality_embedding",
    "norm": "social_mae.encoder.layernorm",
    "norm_a": "social_mae.encoder.audio_layernorm",
    "norm_v": "social_mae.encoder.video_layernorm",
    "decoder_embed": "decoder.decoder_embed",
    "mask_token": "decoder.mask_token",
    "decoder_pos_embed_a": "decoder.audio_position_embeddings",
    "decoder_pos_embed_v": "decoder.video_position_embeddings",
    "decoder_modality_a": "decoder.audio_modality_embedding",
    "decoder_modality_v": "decoder.video_modality_embedding",
    "decoder_norm": "decoder.layernorm",
    "decoder_pred_a": "decoder.audio_pred",
    "decoder_pred_v": "decoder.video_pred",
    "mlp_head.0": "classifier.layernorm",
    "mlp_head.1": "classifier.dense",
}
_LAYER_KEY = re.compile(r"^(blocks_a|blocks_v|blocks_u|decoder_blocks)\.(\d+)\.(.+)\.(weight|bias)$")


class CheckpointError(ValueError):
    """The file is not an original Social-MAE / CAV-MAE checkpoint this converter understands."""


@dataclass
class OriginalCheckpoint:
    """What the key names and shapes say about an original checkpoint."""

    family: Literal["social-mae", "cav-mae"]
    stage: Literal["pretraining", "finetuning"]
    state_dict: dict[str, torch.Tensor]


def load_original_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a `.pth` safely (tensors only) and strip the `module.` prefix of `nn.DataParallel`."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file.")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, expected an original `.pth` checkpoint file.")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(
            f"{path}: cannot be read as a PyTorch checkpoint with `weights_only=True` ({error}). It may be "
            "corrupt or truncated, or hold pickled objects other than tensors."
        ) from error
    if isinstance(loaded, dict) and "state_dict" in loaded and isinstance(loaded["state_dict"], dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not loaded:
        raise CheckpointError(f"{path}: expected a non-empty state_dict (name -> tensor), got {type(loaded)}.")
    not_tensors = [key for key, value in loaded.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise CheckpointError(f"{path}: entries that are not tensors: {sorted(not_tensors)[:10]}.")
    not_finite = {
        key: count
        for key, value in loaded.items()
        if value.is_floating_point() and (count := int(value.numel() - torch.isfinite(value).sum()))
    }
    if not_finite:
        listed = [f"{key} ({count} of {loaded[key].numel()} values)" for key, count in sorted(not_finite.items())]
        raise CheckpointError(
            f"{path}: tensors with NaN or infinite values: {listed[:10]}{' ...' if len(listed) > 10 else ''}. "
            "The checkpoint is damaged (or was saved after training diverged); convert an intact copy."
        )
    prefixed = [key.startswith("module.") for key in loaded]
    if any(prefixed) and not all(prefixed):
        raise CheckpointError(f"{path}: some keys start with `module.` and some do not; refusing to guess.")
    return {key.removeprefix("module."): value for key, value in loaded.items()}


def identify(state_dict: dict[str, torch.Tensor], source: str = "checkpoint") -> OriginalCheckpoint:
    """Social-MAE vs CAV-MAE from the video patch kernel's rank; pretraining vs fine-tuning from the heads."""
    if "patch_embed_v.proj.weight" not in state_dict or "patch_embed_a.proj.weight" not in state_dict:
        raise CheckpointError(
            f"{source}: no `patch_embed_a.proj.weight` / `patch_embed_v.proj.weight`; this is not an original "
            "Social-MAE or CAV-MAE checkpoint."
        )
    rank = state_dict["patch_embed_v.proj.weight"].ndim
    if rank not in (4, 5):
        raise CheckpointError(f"{source}: `patch_embed_v.proj.weight` has rank {rank}; expected 4 or 5.")
    family = "social-mae" if rank == 5 else "cav-mae"
    has_decoder = "decoder_embed.weight" in state_dict
    has_head = "mlp_head.1.weight" in state_dict
    if has_decoder == has_head:
        what = "both a decoder and a classification head" if has_decoder else "neither a decoder nor a head"
        raise CheckpointError(f"{source}: has {what}; cannot tell pretraining from fine-tuning.")
    return OriginalCheckpoint(family, "pretraining" if has_decoder else "finetuning", state_dict)


def video_layouts(num_tokens: int, tubelet: int, patch_size: int) -> list[tuple[int, int]]:
    """Every (frames, image size) whose (height, width, time) token grid has `num_tokens` tokens."""
    layouts = []
    for tubelets in range(1, num_tokens + 1):
        if num_tokens % tubelets == 0 and math.isqrt(num_tokens // tubelets) ** 2 == num_tokens // tubelets:
            layouts.append((tubelets * tubelet, math.isqrt(num_tokens // tubelets) * patch_size))
    return layouts


def _check_heads(option: str, heads: int, width: int, tensor: str) -> None:
    if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1 or width % heads:
        divisors = [d for d in range(1, width + 1) if width % d == 0]
        raise CheckpointError(
            f"{option} {heads}: must divide the width {width} of the checkpoint (`{tensor}`); it can be one of "
            f"{divisors}. Heads cannot be read off the tensors: use the number the model was trained with."
        )


def _warn_unless_released_heads(part: str, width: int, heads: int) -> None:
    """A head count the tensors cannot check, on a checkpoint or an option unlike the released ones: say so."""
    option, released_width, released_heads = _RELEASED_HEADS[part]
    if (width, heads) == (released_width, released_heads):
        return
    if heads != released_heads:
        why = f"{option} {heads} differs from the released models' {released_heads}"
    else:
        why = f"the {part} width {width} is not a released architecture's ({released_width}), and {option} {heads} is"
        why += " the released models' count"
    logger.warning(
        f"{why}. The tensors cannot tell head counts apart: a count other than the one the model was "
        f"trained with converts without an error and gives different outputs. Make sure {heads} {part} heads is "
        "what it was trained with."
    )


def _video_frames(sd, family: str, num_frames: int | None, tubelet: int, patch_size: int, log) -> tuple[int, int]:
    """(frames, image size): `--num-frames` checked against `pos_embed_v`'s token count."""
    num_tokens = _shape(sd, "pos_embed_v")[1]
    if family == "cav-mae":
        if num_frames not in (None, 1):
            raise CheckpointError(f"--num-frames {num_frames}: a CAV-MAE checkpoint takes one frame; drop the option.")
        grid = math.isqrt(num_tokens)
        if grid * grid != num_tokens:
            raise CheckpointError(f"pos_embed_v has {num_tokens} tokens, not a square grid of one frame's patches.")
        return 1, grid * patch_size
    num_frames = 8 if num_frames is None else num_frames
    layouts = video_layouts(num_tokens, tubelet, patch_size)
    plausible = [(frames, size) for frames, size in layouts if size > patch_size] or layouts  # not single patches
    described = ", ".join(f"{frames} frames of {size} px" for frames, size in plausible)
    if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1 or num_frames % tubelet:
        raise CheckpointError(
            f"--num-frames {num_frames}: must be a positive multiple of the tubelet size {tubelet} "
            f"(`patch_embed_v.proj.weight`); pos_embed_v's {num_tokens} tokens fit {described}."
        )
    sizes = dict(layouts)
    if num_frames not in sizes:
        raise CheckpointError(
            f"--num-frames {num_frames}: pos_embed_v has {num_tokens} tokens, which is not a square grid times "
            f"{num_frames // tubelet} tubelets; they fit {described}: is --num-frames {num_frames} right?"
        )
    if sizes[num_frames] == patch_size and len(layouts) > 1:
        raise CheckpointError(
            f"--num-frames {num_frames} would make frames of {patch_size} px, a single patch each (no spatial grid); "
            f"pos_embed_v's {num_tokens} tokens fit {described}. Pass the frame count the model was trained with."
        )
    others = [f"{frames} frames of {size} px" for frames, size in layouts if frames != num_frames and size > patch_size]
    if others:
        log(
            f"video: {num_frames} frames of {sizes[num_frames]} px (--num-frames); pos_embed_v's {num_tokens} tokens "
            f"would also fit {', '.join(others)}: shapes cannot tell, check --num-frames if the model took another"
        )
    return num_frames, sizes[num_frames]


def infer_config(
    checkpoint: OriginalCheckpoint,
    num_frames: int | None = None,
    num_attention_heads: int = 12,
    decoder_num_attention_heads: int = 16,
    log: Callable[[str], None] = lambda message: None,
    **overrides,
) -> SocialMAEConfig:
    """Widths, depths, audio length, image size and label count from the shapes; the rest from arguments, checked
    against the shapes (`num_frames`: 8 for Social-MAE when None; CAV-MAE takes 1)."""
    sd = checkpoint.state_dict
    video_kernel = sd["patch_embed_v.proj.weight"]
    audio_kernel = sd["patch_embed_a.proj.weight"]
    hidden_size = audio_kernel.shape[0]
    patch_size = video_kernel.shape[2]
    audio_patch = audio_kernel.shape[2]
    num_mel_bins = 128  # the originals hard-code 128 mel bins (num_patches = audio_length * 128 / 256)
    num_audio_patches = _shape(sd, "pos_embed_a")[1]
    audio_length = num_audio_patches * audio_patch * audio_patch // num_mel_bins
    tubelet = video_kernel.shape[4] if checkpoint.family == "social-mae" else 1
    num_frames, image_size = _video_frames(sd, checkpoint.family, num_frames, tubelet, patch_size, log)
    _check_heads("--num-attention-heads", num_attention_heads, hidden_size, "patch_embed_a.proj.weight")
    _warn_unless_released_heads("encoder", hidden_size, num_attention_heads)
    if checkpoint.stage == "pretraining":
        decoder_width = _shape(sd, "decoder_embed.weight")[0]
        _check_heads(
            "--decoder-num-attention-heads", decoder_num_attention_heads, decoder_width, "decoder_embed.weight"
        )
        _warn_unless_released_heads("decoder", decoder_width, decoder_num_attention_heads)

    values = {
        "hidden_size": hidden_size,
        "num_attention_heads": num_attention_heads,
        "num_modality_layers": _count_layers(sd, "blocks_a"),
        "num_fusion_layers": _count_layers(sd, "blocks_u"),
        "intermediate_size": _shape(sd, "blocks_a.0.mlp.fc1.weight")[0],
        "num_mel_bins": num_mel_bins,
        "audio_length": audio_length,
        "audio_patch_size": audio_patch,
        "image_size": image_size,
        "patch_size": patch_size,
        "num_channels": video_kernel.shape[1],
        "num_frames": num_frames,
        "tubelet_size": tubelet,
        "legacy_video_target_order": checkpoint.family == "social-mae",
    }
    if checkpoint.stage == "pretraining":
        values.update(
            decoder_hidden_size=decoder_width,
            decoder_num_hidden_layers=_count_layers(sd, "decoder_blocks"),
            decoder_num_attention_heads=decoder_num_attention_heads,
            decoder_intermediate_size=_shape(sd, "decoder_blocks.0.mlp.fc1.weight")[0],
        )
    else:
        values["num_labels"] = _shape(sd, "mlp_head.1.weight")[0]
    values.update(overrides)
    try:
        return SocialMAEConfig(**values)
    except StrictDataclassError as error:
        raise CheckpointError(f"the settings inferred from the checkpoint are invalid: {error}") from error


def _shape(sd: dict[str, torch.Tensor], key: str) -> tuple[int, ...]:
    if key not in sd:
        raise CheckpointError(f"missing tensor `{key}`.")
    return tuple(sd[key].shape)


def _count_layers(sd: dict[str, torch.Tensor], stack: str) -> int:
    indices = {int(m.group(2)) for key in sd if (m := _LAYER_KEY.match(key)) and m.group(1) == stack}
    if not indices:
        raise CheckpointError(f"no `{stack}.*` layers found.")
    if indices != set(range(len(indices))):
        raise CheckpointError(f"`{stack}` layer indices are not contiguous from 0: {sorted(indices)}.")
    return len(indices)


def rename_key(key: str) -> str | None:
    """Original name -> our name; None for the verified-but-unused per-modality norms of non-fusion layers."""
    match = _LAYER_KEY.match(key)
    if match:
        stack, index, inner, kind = match.groups()
        if inner in _UNUSED_NORMS and stack != "blocks_u":
            return None
        if inner not in _LAYER_RENAMES:
            raise CheckpointError(f"unknown tensor `{key}`.")
        return f"{_STACKS[stack]}.{index}.{_LAYER_RENAMES[inner]}.{kind}"
    base, dot, kind = key.rpartition(".")
    if dot and kind in ("weight", "bias") and base in _FLAT_RENAMES:
        return f"{_FLAT_RENAMES[base]}.{kind}"
    if key in _FLAT_RENAMES:
        return _FLAT_RENAMES[key]
    raise CheckpointError(f"unknown tensor `{key}`.")


def _expected_original_keys(model_keys: set[str]) -> set[str]:
    """The original names a checkpoint must hold for this model, unused norms included."""
    originals = set()
    for stack, ours in _STACKS.items():
        indices = {int(k[len(ours) + 1 :].split(".")[0]) for k in model_keys if k.startswith(ours + ".")}
        for index in indices:
            for inner in _LAYER_RENAMES:
                for kind in ("weight", "bias"):
                    originals.add(f"{stack}.{index}.{inner}.{kind}")
    for original, ours in _FLAT_RENAMES.items():
        for kind in ("weight", "bias"):
            if f"{ours}.{kind}" in model_keys:
                originals.add(f"{original}.{kind}")
        if ours in model_keys:
            originals.add(original)
    return originals


def convert_state_dict(
    state_dict: dict[str, torch.Tensor], model: SocialMAEPreTrainedModel, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename and reshape every original tensor for `model`, refusing anything unknown, missing or mis-shaped."""
    target = model.state_dict()
    expected = _expected_original_keys(set(target))
    unknown = sorted(set(state_dict) - expected)
    missing = sorted(expected - set(state_dict))
    problems = []
    if unknown:
        problems.append(f"unknown tensors: {unknown}")
    if missing:
        problems.append(f"missing tensors: {missing}")
    if problems:
        raise CheckpointError(f"{source}: " + "; ".join(problems))

    converted, misshaped = {}, []
    for key, tensor in state_dict.items():
        new_key = rename_key(key)
        if new_key is None:
            # Verified present above; check its shape too, then drop it.
            if tensor.shape != target[f"{_layer_prefix(key)}.layernorm_before.weight"].shape:
                misshaped.append(f"{key} {tuple(tensor.shape)}")
            continue
        if key == "patch_embed_v.proj.weight" and tensor.ndim == 4:
            tensor = tensor.unsqueeze(-1)  # CAV-MAE's Conv2d kernel gets a time axis of 1
        if tuple(tensor.shape) != tuple(target[new_key].shape):
            misshaped.append(f"{key} {tuple(tensor.shape)} (expected {tuple(target[new_key].shape)})")
            continue
        converted[new_key] = tensor.to(target[new_key].dtype).contiguous()
    if misshaped:
        raise CheckpointError(f"{source}: mis-shaped tensors: {misshaped}")
    return converted


def _layer_prefix(original_key: str) -> str:
    stack, index = _LAYER_KEY.match(original_key).groups()[:2]
    return f"{_STACKS[stack]}.{index}"


def parse_id2label(value: str | dict | list | None) -> dict[int, str] | None:
    """`--id2label` as a JSON file, a JSON object/list string, or comma-separated names in index order; from Python
    also a dict or list, checked as the parsed JSON is."""
    if value is None or (isinstance(value, dict) and not value):
        return None
    parsed = value
    if not isinstance(value, (dict, list)):
        text = Path(value).read_text() if os.path.isfile(value) else value
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = [name.strip() for name in text.split(",") if name.strip()]
    if isinstance(parsed, list):
        return _unique_names(dict(enumerate(map(str, parsed))))
    if isinstance(parsed, dict):
        try:
            labels = {int(k): str(v) for k, v in parsed.items()}
        except ValueError as error:
            raise ValueError(f"--id2label: the keys of a mapping must be output indices, got {list(parsed)}") from error
        return _unique_names(labels)
    raise ValueError(f"--id2label: expected names or a mapping, got {parsed!r}.")


def _unique_names(labels: dict[int, str]) -> dict[int, str]:
    """Refuse a name given to two outputs: `label2id` would keep only one, and predictions could not be told apart."""
    seen: dict[str, list[int]] = {}
    for index, name in sorted(labels.items()):
        seen.setdefault(name, []).append(index)
    repeated = {name: indices for name, indices in seen.items() if len(indices) > 1}
    if repeated:
        listed = ", ".join(f"{name!r} (outputs {indices})" for name, indices in repeated.items())
        raise ValueError(f"--id2label: each output needs its own name; repeated: {listed}")
    return labels


def earlier_label_names(folder: str | os.PathLike) -> dict[int, str] | None:
    """The label names in `folder`'s config.json (an earlier conversion), unless absent or transformers' defaults."""
    try:
        labels = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8")).get("id2label")
        labels = {int(index): str(name) for index, name in labels.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    if not labels or all(name == f"LABEL_{index}" for index, name in labels.items()):
        return None
    return labels


def check_output_folder(folder: str | os.PathLike, overwrite: bool) -> None:
    """Refuse to write into a non-empty folder unless `overwrite` (`--overwrite`)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder}: is a file, not a folder to convert into")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{folder}: is not empty; pass --overwrite to replace the model in it (its label names are kept "
            "unless --id2label gives new ones), or choose a new folder"
        )


def convert_checkpoint(
    checkpoint_path: str | os.PathLike,
    output_dir: str | os.PathLike | None = None,
    *,
    num_frames: int | None = None,
    num_attention_heads: int = 12,
    decoder_num_attention_heads: int = 16,
    task: Task | None = None,
    id2label: str | dict | list | None = None,
    write_processor: bool = True,
    overwrite: bool = False,
    log: Callable[[str], None] = lambda message: None,
    **config_overrides,
) -> SocialMAEPreTrainedModel:
    """Convert an original checkpoint; save it with `save_pretrained` when `output_dir` is given.

    The folder also gets the matching processor (`processor_config.json`: the family's preset, sized to the
    model), so that `AutoProcessor.from_pretrained(output_dir)` prepares inputs the model accepts.
    `write_processor=False` leaves it out.

    Pretraining checkpoints become [`SocialMAEForPreTraining`]; fine-tuned ones
    [`SocialMAEForAudioVisualClassification`], or [`SocialMAEForRegression`] with `task="regression"`.

    A non-empty `output_dir` is refused unless `overwrite`; then the label names of the model it held are kept
    when no `id2label` is given and the new head has as many outputs.
    """
    source = str(checkpoint_path)
    earlier_labels = None
    if output_dir is not None:
        check_output_folder(output_dir, overwrite)
        earlier_labels = earlier_label_names(output_dir)
    checkpoint = identify(load_original_state_dict(checkpoint_path), source)
    labels = parse_id2label(id2label)
    if checkpoint.stage == "pretraining" and (task is not None or labels is not None):
        raise CheckpointError(f"{source}: a pretraining checkpoint has no head; --task/--id2label do not apply.")
    config = infer_config(
        checkpoint,
        num_frames=num_frames,
        num_attention_heads=num_attention_heads,
        decoder_num_attention_heads=decoder_num_attention_heads,
        log=log,
        **config_overrides,
    )
    if labels is None and earlier_labels is not None and checkpoint.stage == "finetuning":
        if set(earlier_labels) == set(range(config.num_labels)):
            labels = earlier_labels
            log(f"kept the label names of the model that was in {output_dir}: {', '.join(labels.values())}")
        else:
            log(
                f"not keeping the {len(earlier_labels)} label names of the model that was in {output_dir}: this "
                f"head has {config.num_labels} outputs"
            )
    if labels is not None:
        if len(labels) != config.num_labels or set(labels) != set(range(config.num_labels)):
            raise CheckpointError(
                f"{source}: the head has {config.num_labels} outputs but --id2label gives {len(labels)} "
                f"names (ids {sorted(labels)})."
            )
        config.id2label = labels
        config.label2id = {name: index for index, name in labels.items()}
    if checkpoint.stage == "pretraining":
        model_class = SocialMAEForPreTraining
    elif task == "regression":
        model_class = SocialMAEForRegression
    elif task in (None, "classification"):
        model_class = SocialMAEForAudioVisualClassification
    else:
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")

    # The options the conversion took on the user's word (the tensors do not say them), kept in config.json.
    config.conversion = {
        "checkpoint": Path(source).name,
        "family": checkpoint.family,
        "stage": checkpoint.stage,
        "num_frames": config.num_frames,
        "num_attention_heads": num_attention_heads,
    }
    if checkpoint.stage == "pretraining":
        config.conversion["decoder_num_attention_heads"] = decoder_num_attention_heads
    else:
        config.conversion["task"] = task or "classification"
    model = model_class(config)
    model.load_state_dict(convert_state_dict(checkpoint.state_dict, model, source), strict=True)
    model.eval()
    if output_dir is not None:
        save_converted(model, output_dir, write_processor)
    return model


def save_converted(model: SocialMAEPreTrainedModel, folder: str | os.PathLike, write_processor: bool = True) -> None:
    """`save_pretrained` into `folder`, the weights readable as config.json is, and the matching processor (the
    family's preset sized to the model) unless `write_processor` is false."""
    model.save_pretrained(folder)
    open_permissions(*Path(folder).glob("*.safetensors"))  # safetensors writes 0600; config.json is 0666-umask
    if write_processor:
        SocialMAEProcessor.for_model_config(model.config).save_pretrained(folder)
