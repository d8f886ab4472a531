"""Parameters a training mode never uses, found on a miniature copy of the model, and frozen.

Fine-tuning on both modalities leaves the fusion layers' per-modality LayerNorms and the per-modality final
LayerNorms without gradient; a single-modality run leaves the other modality's whole stack unused. DDP
refuses parameters that get no gradient unless it searches the graph every step
(`find_unused_parameters=True`, slower, and incompatible with some setups). Freezing exactly those parameters
changes nothing in the optimisation (an optimizer skips parameters without gradient anyway) and lets DDP run
with `find_unused_parameters=False`.

Which parameters go unused depends on the architecture's structure and on the mode, not on widths, so we
find them by a forward/backward pass through a miniature model with the same layer names (a few thousand
weights), instead of hard-coding a list that the model could outgrow.
"""

from __future__ import annotations

import torch
from torch import nn

from ..configuration_social_mae import SocialMAEConfig
from ..modeling_social_mae import SocialMAEForPreTraining

__all__ = ["freeze_unused_parameters", "unused_parameter_names"]


def _miniature(config: SocialMAEConfig) -> SocialMAEConfig:
    """Same structure (depths, flags, losses), smallest sizes: 2x2 patches per modality and one tubelet, or two when
    the model has several (so that flags that need several frames, like `legacy_video_target_order`, stay valid)."""
    values = config.to_dict()
    for key in ("model_type", "transformers_version", "architectures"):
        values.pop(key, None)
    p, a = config.patch_size, config.audio_patch_size
    values.update(
        hidden_size=8,
        num_attention_heads=1,
        intermediate_size=8,
        decoder_hidden_size=8,
        decoder_num_attention_heads=1,
        decoder_intermediate_size=8,
        image_size=2 * p,
        num_frames=config.tubelet_size * min(2, config.num_frames // config.tubelet_size),
        audio_length=2 * a,
        num_mel_bins=2 * a,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return SocialMAEConfig(**values)


def unused_parameter_names(model: nn.Module, modality: str = "audiovisual") -> list[str]:
    """Names of `model`'s trainable parameters that get no gradient in this mode.

    `modality`: `"audiovisual"`, `"audio"` or `"video"` (the inputs given); pretraining always takes both.
    """
    if modality not in ("audiovisual", "audio", "video"):
        raise ValueError(f"modality must be 'audiovisual', 'audio' or 'video', got {modality!r}")
    if isinstance(model, SocialMAEForPreTraining) and modality != "audiovisual":
        raise ValueError("pretraining takes both modalities")
    config = _miniature(model.config)
    config._attn_implementation = "eager"
    mini = type(model)(config).train()
    generator = torch.Generator().manual_seed(0)
    inputs = {}
    if modality in ("audiovisual", "audio"):
        inputs["input_values"] = torch.randn(2, config.audio_length, config.num_mel_bins, generator=generator)
    if modality in ("audiovisual", "video"):
        inputs["pixel_values"] = torch.randn(
            2, config.num_frames, config.num_channels, config.image_size, config.image_size, generator=generator
        )
    outputs = mini(**inputs)
    loss = outputs.loss if getattr(outputs, "loss", None) is not None else outputs[0].float().sum()
    loss.backward()
    mini_grads = {name: p.grad is not None for name, p in mini.named_parameters()}
    unused = []
    for name, parameter in model.named_parameters():
        if name not in mini_grads:
            raise RuntimeError(f"parameter {name} has no counterpart in the miniature model")
        if parameter.requires_grad and not mini_grads[name]:
            unused.append(name)
    return unused


def freeze_unused_parameters(model: nn.Module, modality: str = "audiovisual") -> list[str]:
    """Set `requires_grad=False` on the parameters this mode leaves without gradient; returns their names."""
    names = unused_parameter_names(model, modality)
    parameters = dict(model.named_parameters())
    for name in names:
        parameters[name].requires_grad_(False)
    return names
