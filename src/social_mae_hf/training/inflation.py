"""Starting a multi-frame Social-MAE from a single-frame CAV-MAE checkpoint.

Social-MAE's paper re-initialised the video patch embedding and positions when moving from CAV-MAE's one
frame to 8 frames in tubelets of 2. Inflation keeps what CAV-MAE learned instead (as I3D inflated 2D
filters):

- the patch embedding kernel `(D, C, p, p, 1)` is repeated over the tubelet and divided by its length, so a
  static clip (every frame the same) embeds exactly as CAV-MAE embedded that frame;
- the encoder's and decoder's video positions `(1, h*w, D)` are repeated for every tubelet (tokens are
  ordered height, width, time with time fastest, so each spatial position is repeated in place);
- the decoder's video prediction head, which predicts one frame's patch `(p*p*C)`, is repeated per frame of
  the tubelet `(tubelet*p*p*C, flattened tubelet-first)`, so a static tubelet is predicted as that frame.

Everything else is copied as is. See benchmarks/README.md for inflated versus re-initialised starts.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from ..configuration_social_mae import SocialMAEConfig

__all__ = ["VIDEO_INIT_CHOICES", "inflate_state_dict", "initialise_from_single_frame"]

logger = logging.getLogger(__name__)

VIDEO_INIT_CHOICES = ("inflate", "reinit")
_PATCH = "embeddings.video_patch_embeddings.projection.weight"
_POSITIONS = ("embeddings.video_position_embeddings", "decoder.video_position_embeddings")
_PRED = ("decoder.video_pred.weight", "decoder.video_pred.bias")


def _is(name: str, suffix: str) -> bool:
    return name == suffix or name.endswith("." + suffix)


def video_parameter(name: str) -> bool:
    """Whether a parameter's shape depends on the number of frames / the tubelet (those that inflation changes)."""
    return any(_is(name, s) for s in (_PATCH, *_POSITIONS, *_PRED))


def _check_geometry(source: SocialMAEConfig, target: SocialMAEConfig) -> None:
    if source.num_frames != 1 or source.tubelet_size != 1:
        raise ValueError(
            f"inflation starts from a single-frame (CAV-MAE) model; the source has num_frames={source.num_frames}, "
            f"tubelet_size={source.tubelet_size}"
        )
    for name in ("hidden_size", "image_size", "patch_size", "num_channels", "decoder_hidden_size"):
        if getattr(source, name) != getattr(target, name):
            raise ValueError(
                f"inflation changes frames only; `{name}` differs ({getattr(source, name)} vs {getattr(target, name)})"
            )


def inflate_state_dict(
    state_dict: dict[str, torch.Tensor], source: SocialMAEConfig, target: SocialMAEConfig
) -> dict[str, torch.Tensor]:
    """The video tensors of a single-frame state dict, inflated to `target`'s frames and tubelet (other
    tensors are returned unchanged). Works with any prefix (`social_mae.`, none)."""
    _check_geometry(source, target)
    tubelet = target.tubelet_size
    num_tubelets = target.num_frames // target.tubelet_size
    out = {}
    for name, tensor in state_dict.items():
        if _is(name, _PATCH):
            out[name] = tensor.repeat(1, 1, 1, 1, tubelet) / tubelet
        elif any(_is(name, s) for s in _POSITIONS):
            out[name] = tensor.repeat_interleave(num_tubelets, dim=1)
        elif _is(name, _PRED[0]):
            out[name] = tensor.repeat(tubelet, 1)
        elif _is(name, _PRED[1]):
            out[name] = tensor.repeat(tubelet)
        else:
            out[name] = tensor
    return out


def initialise_from_single_frame(
    target_model: nn.Module, source_state_dict: dict[str, torch.Tensor], source_config: SocialMAEConfig, mode: str
) -> dict[str, list[str]]:
    """Load a single-frame checkpoint's weights into a freshly initialised multi-frame `target_model`.

    `mode="inflate"` inflates the video tensors; `"reinit"` keeps the target's fresh initialisation for them
    (what the Social-MAE paper did). Tensors the source lacks (e.g. a new head) keep their initialisation.
    Returns `{"inflated": [...], "reinitialised": [...], "kept_initialisation": [...]}` (names).
    """
    if mode not in VIDEO_INIT_CHOICES:
        raise ValueError(f"video initialisation must be one of {VIDEO_INIT_CHOICES}, got {mode!r}")
    _check_geometry(source_config, target_model.config)
    source = inflate_state_dict(source_state_dict, source_config, target_model.config)
    target = target_model.state_dict()
    report = {"inflated": [], "reinitialised": [], "kept_initialisation": []}
    new_state = {}
    for name, tensor in target.items():
        if video_parameter(name) and name in source:
            if mode == "reinit":
                report["reinitialised"].append(name)
                continue
            report["inflated"].append(name)
        if name not in source:
            report["kept_initialisation"].append(name)
            continue
        if source[name].shape != tensor.shape:
            raise ValueError(f"{name}: the checkpoint's shape {tuple(source[name].shape)} != {tuple(tensor.shape)}")
        new_state[name] = source[name]
    target_model.load_state_dict(new_state, strict=False)
    return report
