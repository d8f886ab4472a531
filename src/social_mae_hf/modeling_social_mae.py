"""Social-MAE / CAV-MAE: audiovisual masked autoencoders (Bohy et al. 2024; Gong et al. 2023).

Layout of the computation, shared by every class below:

    fbank (B, T, F) ──► audio patches ─► + positions + modality ─► audio layers ─┐
                                                                                 ├─► fusion layers ─► norm
    frames (B, T, C, H, W) ► video tubelets ─► + positions + modality ─► video layers ┘

Each layer owns three LayerNorm pairs only where the originals use them (the fusion layers): the joint pair
for the concatenated sequence and one pair per modality for single-modality passes. Token orders follow the
originals exactly (audio frequency-major; video height, width, time with time fastest) so that masks, noise and
positions line up one to one with their checkpoints.
"""

import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.processing_utils import Unpack
from transformers.utils import ModelOutput, TransformersKwargs, logging
from transformers.utils.generic import can_return_tuple
from transformers.utils.output_capturing import OutputRecorder, capture_outputs

from .configuration_social_mae import SocialMAEConfig, check_local_path

logger = logging.get_logger(__name__)

AUDIO = "audio"
VIDEO = "video"


# --------------------------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------------------------


@dataclass
class SocialMAEModelOutput(ModelOutput):
    r"""
    last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
        Audiovisual input: the fused sequence (audio tokens then video tokens) after the final LayerNorm. One
        modality: its tokens after the shared layers, as `config.single_modality_strategy` says.
    pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`):
        Mean of `last_hidden_state` over tokens (the originals have no CLS token).
    audio_last_hidden_state / video_last_hidden_state (`torch.FloatTensor` of shape `(batch_size, tokens,
        hidden_size)`, *optional*): That modality's tokens after its own layers, the shared layers' input (the last
        of `audio_hidden_states` / `video_hidden_states`); `None` for a modality not given.
    audio_mask / video_mask (`torch.FloatTensor` of shape `(batch_size, num_patches)`, *optional*):
        Only with a mask ratio: 1 where a token was removed, 0 where kept.
    audio_ids_restore / video_ids_restore (`torch.LongTensor` of shape `(batch_size, num_patches)`, *optional*):
        Only with a mask ratio: the indices that undo the masking shuffle.
    hidden_states (`tuple(torch.FloatTensor)`, *optional*, with `output_hidden_states=True`):
        Shared stage: the input of the first fusion layer, then the output of each fusion layer
        (`num_fusion_layers + 1` states). With one modality and `"average_fusion"`, the shared layers run twice:
        the joint pass's outputs come first, then the modality pass's.
    audio_hidden_states / video_hidden_states (`tuple(torch.FloatTensor)`, *optional*, with `output_hidden_states`):
        Modality stage: the embeddings (kept tokens only, when masking), then the output of each modality-specific
        layer (`num_modality_layers + 1` states).
    attentions / audio_attentions / video_attentions (`tuple(torch.FloatTensor)`, *optional*, with
        `output_attentions=True`): Attention probabilities of the fusion / audio / video layers. Only eager attention
        computes them: with another implementation, a call that asks for them runs eager attention (and warns once).
    """

    last_hidden_state: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    audio_last_hidden_state: torch.FloatTensor | None = None
    video_last_hidden_state: torch.FloatTensor | None = None
    audio_mask: torch.FloatTensor | None = None
    video_mask: torch.FloatTensor | None = None
    audio_ids_restore: torch.LongTensor | None = None
    video_ids_restore: torch.LongTensor | None = None
    # Last, as `capture_outputs` adds them after the others: `to_tuple()` then follows this order.
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    video_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    video_attentions: tuple[torch.FloatTensor, ...] | None = None


# The per-layer outputs `capture_outputs` fills in (see `SocialMAEPreTrainedModel._can_record_outputs`), which the
# pretraining and prediction outputs pass on from the encoder's.
RECORDED_FIELDS = (
    "hidden_states",
    "audio_hidden_states",
    "video_hidden_states",
    "attentions",
    "audio_attentions",
    "video_attentions",
)


@dataclass
class SocialMAEForPreTrainingOutput(ModelOutput):
    r"""
    loss: `reconstruction_loss + contrastive_loss`.
    reconstruction_loss: `reconstruction_loss_weight * (audio + video reconstruction losses)`.
    audio_reconstruction_loss / video_reconstruction_loss: mean squared error per patch, averaged over removed
        patches only.
    contrastive_loss: InfoNCE between pooled audio and video embeddings, already multiplied by
        `contrastive_loss_weight` (as the originals report it).
    contrastive_accuracy: share of clips whose matching partner has the highest similarity.
    audio_logits (`(batch_size, num_audio_patches, audio_patch_size**2)`) / video_logits
        (`(batch_size, num_video_patches, tubelet_size * patch_size**2 * num_channels)`): decoder predictions
        for every token, in the encoder's token order (the originals' `pred_a` / `pred_v`).
    audio_mask / video_mask (`(batch_size, num_patches)`): 1 where a token was removed, 0 where kept.
    audio_ids_restore / video_ids_restore: indices that undo the masking shuffle.
    last_hidden_state: the fused encoder output of the kept tokens (the decoder's input, before projection).
    audio_contrastive_tokens / video_contrastive_tokens: kept tokens of one modality after the shared layers
        with that modality's LayerNorms (mean-pooled for the contrastive loss).
    hidden_states, attentions and their audio_ / video_ variants: the encoder's, as in [`SocialMAEModelOutput`] (the
        contrastive passes through the shared layers are not recorded).
    """

    loss: torch.FloatTensor | None = None
    reconstruction_loss: torch.FloatTensor | None = None
    audio_reconstruction_loss: torch.FloatTensor | None = None
    video_reconstruction_loss: torch.FloatTensor | None = None
    contrastive_loss: torch.FloatTensor | None = None
    contrastive_accuracy: torch.FloatTensor | None = None
    audio_logits: torch.FloatTensor | None = None
    video_logits: torch.FloatTensor | None = None
    audio_mask: torch.FloatTensor | None = None
    video_mask: torch.FloatTensor | None = None
    audio_ids_restore: torch.LongTensor | None = None
    video_ids_restore: torch.LongTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    audio_contrastive_tokens: torch.FloatTensor | None = None
    video_contrastive_tokens: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    video_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    video_attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class SocialMAEPredictionOutput(ModelOutput):
    r"""
    Output of the classification and regression heads.

    loss: cross-entropy / BCE (classification) or L1 / MSE (regression) when `labels` are given.
    logits (`(batch_size, num_labels)`): head outputs before any softmax / sigmoid.
    pooler_output (`(batch_size, hidden_size)`): the pooled encoder output the head reads.
    Remaining fields as in [`SocialMAEModelOutput`].
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    audio_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    video_hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    audio_attentions: tuple[torch.FloatTensor, ...] | None = None
    video_attentions: tuple[torch.FloatTensor, ...] | None = None


# --------------------------------------------------------------------------------------------------------------
# Position embeddings
# --------------------------------------------------------------------------------------------------------------


def sincos_1d(embed_dim: int, positions: torch.Tensor) -> torch.Tensor:
    """`[sin | cos]` of positions at geometric frequencies 1 / 10000^(2i/D), as in MAE."""
    omega = torch.arange(embed_dim // 2, dtype=torch.float64) / (embed_dim / 2.0)
    omega = 1.0 / 10000**omega
    angles = positions.to(torch.float64).reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d(embed_dim: int, grid_height: int, grid_width: int) -> torch.Tensor:
    """2D sin-cos table for a row-major (height-outer) grid, laid out `[width half | height half]`.

    This is the correct MAE / CAV-MAE formula (the Social-MAE copy encodes one axis twice and uses 1/1000·i
    instead of 10000^-i); the half order matches CAV-MAE's released initialisation.
    """
    rows, cols = torch.meshgrid(
        torch.arange(grid_height, dtype=torch.float64),
        torch.arange(grid_width, dtype=torch.float64),
        indexing="ij",
    )
    return torch.cat([sincos_1d(embed_dim // 2, cols), sincos_1d(embed_dim // 2, rows)], dim=1)


def video_sincos(embed_dim: int, grid_size: int, num_tubelets: int) -> torch.Tensor:
    """Positions for (height, width, time) tokens, time fastest.

    A single frame gets CAV-MAE's 2D table. Several tubelets get a factorised table: the 2D spatial table on
    the first `embed_dim - D_t` channels, a 1D temporal table on the last `D_t = 4 * (embed_dim // 16)`, so that
    every token's position (not only its place in a flattened square, as the originals did) is encoded.
    """
    if num_tubelets == 1:
        return sincos_2d(embed_dim, grid_size, grid_size)
    temporal_dim = 4 * (embed_dim // 16)
    spatial = sincos_2d(embed_dim - temporal_dim, grid_size, grid_size)
    temporal = sincos_1d(temporal_dim, torch.arange(num_tubelets))
    num_spatial = spatial.shape[0]
    spatial = spatial[:, None, :].expand(num_spatial, num_tubelets, -1)
    temporal = temporal[None, :, :].expand(num_spatial, num_tubelets, -1)
    return torch.cat([spatial, temporal], dim=-1).reshape(num_spatial * num_tubelets, embed_dim)


# --------------------------------------------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------------------------------------------


class SocialMAEPatchProjection(nn.Module):
    """Mixin for the patch convolutions: their kernel (stride = kernel) applied as the matmul it is, to patches
    already flattened as the kernel is laid out.

    One GEMM gives contiguous `(B, N, D)` tokens; the convolution's `.flatten(2).transpose(1, 2)` left them strided,
    so every later layer norm copied them and every residual add ran strided (about 5 % of a bfloat16 forward). The
    modules stay convolutions (same parameters, same checkpoint keys, same init), and the matmul runs in their own
    `forward`, where offloading hooks load their weights.
    """

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(patches, self.weight.reshape(self.out_channels, -1), self.bias)


class SocialMAEAudioProjection(SocialMAEPatchProjection, nn.Conv2d):
    """The originals' Conv2d(1, D, 16, stride 16) on the (B, 1, mel, time) image, taking (B, N, 16 * 16) patches."""


class SocialMAEVideoProjection(SocialMAEPatchProjection, nn.Conv3d):
    """The originals' Conv3d over (height, width, time), taking (B, N, C * p * p * tubelet) patches."""


class SocialMAEAudioPatchEmbeddings(nn.Module):
    """Cuts the (mel, time) spectrogram image into 16x16 patches, frequency-major."""

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        patch = config.audio_patch_size
        self.projection = SocialMAEAudioProjection(1, config.hidden_size, kernel_size=patch, stride=patch)

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        # The originals' image is (B, 1, F, T), mel on the height axis: patches frequency-major, each (f, t).
        # Features come in float32 whatever the model's dtype (`from_pretrained(dtype=...)`): cast, as CLIP does.
        patch = self.projection.kernel_size[0]
        batch, frames, bins = input_values.shape
        patches = input_values.to(self.projection.weight.dtype)
        patches = patches.reshape(batch, frames // patch, patch, bins // patch, patch).permute(0, 3, 1, 4, 2)
        return self.projection(patches.reshape(batch, -1, patch * patch))


class SocialMAEVideoPatchEmbeddings(nn.Module):
    """Cuts frames into tubelets; the kernel runs over (height, width, time) as in the originals' Conv3d.

    Keeping the originals' kernel layout means a checkpoint's weight maps 1:1 (CAV-MAE's Conv2d kernel gains a
    time axis of 1) and tokens come out ordered height, width, time (time fastest) without a reordering step.
    """

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        patch, tubelet = config.patch_size, config.tubelet_size
        self.projection = SocialMAEVideoProjection(
            config.num_channels,
            config.hidden_size,
            kernel_size=(patch, patch, tubelet),
            stride=(patch, patch, tubelet),
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        patch, _, tubelet = self.projection.kernel_size
        batch, frames, channels, height, width = pixel_values.shape
        video = pixel_values.to(self.projection.weight.dtype).reshape(
            batch, frames // tubelet, tubelet, channels, height // patch, patch, width // patch, patch
        )
        # -> (B, H/p, W/p, T/s | C, p_h, p_w, s): tokens height, width, time; each tubelet as the kernel (C, h, w, t).
        video = video.permute(0, 4, 6, 1, 3, 5, 7, 2)
        return self.projection(video.reshape(batch, -1, channels * patch * patch * tubelet))


def random_masking(
    tokens: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the `int(N * (1 - ratio))` tokens with the smallest noise, in ascending-noise order.

    Returns the kept tokens, the mask (1 = removed, in token order) and the indices that undo the shuffle.
    """
    batch, length, width = tokens.shape
    num_keep = int(length * (1 - mask_ratio))
    if noise is None:
        noise = torch.rand(batch, length, device=tokens.device)
    ids_shuffle = torch.argsort(noise, dim=1)
    ids_restore = torch.argsort(ids_shuffle, dim=1)
    ids_keep = ids_shuffle[:, :num_keep]
    kept = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, width))
    mask = torch.ones(batch, length, device=tokens.device, dtype=tokens.dtype)
    mask[:, :num_keep] = 0
    mask = torch.gather(mask, 1, ids_restore)
    return kept, mask, ids_restore


def _check_noise(noise: torch.Tensor | None, tokens: torch.Tensor, name: str) -> None:
    if noise is not None and tuple(noise.shape) != tuple(tokens.shape[:2]):
        raise ValueError(
            f"`{name}` must have shape (batch, tokens) = {tuple(tokens.shape[:2])}, got {tuple(noise.shape)}."
        )


class SocialMAEEmbeddingsOutput(NamedTuple):
    """What [`SocialMAEEmbeddings`] returns: a tuple, so that output recorders pick each modality by index."""

    audio: torch.Tensor | None
    video: torch.Tensor | None
    audio_mask: torch.Tensor | None
    audio_ids_restore: torch.Tensor | None
    video_mask: torch.Tensor | None
    video_ids_restore: torch.Tensor | None


class SocialMAEEmbeddings(nn.Module):
    """Patch embeddings plus position and modality embeddings, one set per modality, then masking when asked.

    Every use of the position and modality parameters happens in `forward`: offloading hooks load a module's
    weights around its `forward` only.
    """

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        self.config = config
        hidden = config.hidden_size
        trainable = config.trainable_position_embeddings
        self.audio_patch_embeddings = SocialMAEAudioPatchEmbeddings(config)
        self.video_patch_embeddings = SocialMAEVideoPatchEmbeddings(config)
        self.audio_position_embeddings = nn.Parameter(
            torch.zeros(1, config.num_audio_patches, hidden), requires_grad=trainable
        )
        self.video_position_embeddings = nn.Parameter(
            torch.zeros(1, config.num_video_patches, hidden), requires_grad=trainable
        )
        self.audio_modality_embedding = nn.Parameter(torch.zeros(1, 1, hidden))
        self.video_modality_embedding = nn.Parameter(torch.zeros(1, 1, hidden))

    def forward(
        self,
        input_values: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        audio_noise: torch.Tensor | None = None,
        video_noise: torch.Tensor | None = None,
        audio_mask_ratio: float | None = None,
        video_mask_ratio: float | None = None,
    ) -> SocialMAEEmbeddingsOutput:
        """Tokens of each modality given; with a mask ratio, only the kept ones (see [`random_masking`])."""
        audio = audio_mask = audio_ids_restore = None
        if input_values is not None:
            audio = self.audio_patch_embeddings(input_values) + self.audio_position_embeddings
            audio = audio + self.audio_modality_embedding
            if audio_mask_ratio is not None:
                _check_noise(audio_noise, audio, "audio_noise")
                audio, audio_mask, audio_ids_restore = random_masking(audio, audio_mask_ratio, audio_noise)
        video = video_mask = video_ids_restore = None
        if pixel_values is not None:
            video = self.video_patch_embeddings(pixel_values) + self.video_position_embeddings
            video = video + self.video_modality_embedding
            if video_mask_ratio is not None:
                _check_noise(video_noise, video, "video_noise")
                video, video_mask, video_ids_restore = random_masking(video, video_mask_ratio, video_noise)
        return SocialMAEEmbeddingsOutput(audio, video, audio_mask, audio_ids_restore, video_mask, video_ids_restore)


# --------------------------------------------------------------------------------------------------------------
# Transformer layers
# --------------------------------------------------------------------------------------------------------------


def eager_attention_forward(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain softmax attention, scaling after the product as timm 0.4.5 did."""
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    output = torch.matmul(probs, value).transpose(1, 2).contiguous()
    return output, probs


class SocialMAEAttention(nn.Module):
    """Multi-head self-attention with the originals' fused `qkv` projection."""

    def __init__(self, config: SocialMAEConfig, hidden_size: int, num_heads: int):
        super().__init__()
        self.config = config
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.scaling = self.head_dim**-0.5
        self.is_causal = False
        self.attention_dropout = config.attention_probs_dropout_prob
        self.qkv = nn.Linear(hidden_size, 3 * hidden_size, bias=config.qkv_bias)
        self.proj = nn.Linear(hidden_size, hidden_size)

    def forward(
        self, hidden_states: torch.Tensor, **kwargs: Unpack[TransformersKwargs]
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        batch, length, width = hidden_states.shape
        qkv = self.qkv(hidden_states).reshape(batch, length, 3, self.num_heads, self.head_dim)
        query, key, value = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        output, probs = self._attention_interface(kwargs.get("output_attentions"))(
            self,
            query,
            key,
            value,
            None,
            dropout=self.attention_dropout if self.training else 0.0,
            scaling=self.scaling,
            **kwargs,
        )
        return self.proj(output.reshape(batch, length, width)), probs

    def _attention_interface(self, output_attentions: bool | None) -> Callable:
        """The configured implementation; eager for a call that asks for attention probabilities, as only eager
        computes them (sdpa, flex and flash return none)."""
        implementation = self.config._attn_implementation
        if implementation == "eager" or output_attentions:
            if implementation != "eager":
                logger.warning_once(
                    f"`{implementation}` attention does not return attention probabilities: calls with "
                    "`output_attentions=True` run eager attention. Load the model with `attn_implementation='eager'` "
                    "to avoid the switch."
                )
            return eager_attention_forward
        return ALL_ATTENTION_FUNCTIONS.get_interface(implementation, eager_attention_forward)


class SocialMAEMLP(nn.Module):
    def __init__(self, config: SocialMAEConfig, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, intermediate_size)
        self.activation = ACT2FN[config.hidden_act]
        self.fc2 = nn.Linear(intermediate_size, hidden_size)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.activation(self.fc1(hidden_states)))


class SocialMAELayer(GradientCheckpointingLayer):
    """Pre-norm Transformer layer. Fusion layers also own per-modality LayerNorm pairs.

    `modality=None` uses the joint pair, `"audio"` / `"video"` that modality's pair; attention and MLP weights
    are shared across the three uses, as in the originals.
    """

    def __init__(
        self,
        config: SocialMAEConfig,
        hidden_size: int,
        num_heads: int,
        intermediate_size: int,
        modality_norms: bool = False,
    ):
        super().__init__()
        eps = config.layer_norm_eps
        self.layernorm_before = nn.LayerNorm(hidden_size, eps=eps)
        self.attention = SocialMAEAttention(config, hidden_size, num_heads)
        self.layernorm_after = nn.LayerNorm(hidden_size, eps=eps)
        self.mlp = SocialMAEMLP(config, hidden_size, intermediate_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.modality_norms = modality_norms
        if modality_norms:
            self.audio_layernorm_before = nn.LayerNorm(hidden_size, eps=eps)
            self.audio_layernorm_after = nn.LayerNorm(hidden_size, eps=eps)
            self.video_layernorm_before = nn.LayerNorm(hidden_size, eps=eps)
            self.video_layernorm_after = nn.LayerNorm(hidden_size, eps=eps)

    def _norms(self, modality: str | None) -> tuple[nn.LayerNorm, nn.LayerNorm]:
        if modality is None:
            return self.layernorm_before, self.layernorm_after
        if not self.modality_norms:
            raise ValueError("This layer has no modality-specific LayerNorms (only fusion layers do).")
        if modality == AUDIO:
            return self.audio_layernorm_before, self.audio_layernorm_after
        if modality == VIDEO:
            return self.video_layernorm_before, self.video_layernorm_after
        raise ValueError(f"modality must be None, 'audio' or 'video', got {modality!r}")

    def forward(
        self, hidden_states: torch.Tensor, modality: str | None = None, **kwargs: Unpack[TransformersKwargs]
    ) -> torch.Tensor:
        norm_before, norm_after = self._norms(modality)
        attended, _ = self.attention(norm_before(hidden_states), **kwargs)
        hidden_states = hidden_states + self.dropout(attended)
        return hidden_states + self.dropout(self.mlp(norm_after(hidden_states)))


class SocialMAEEncoder(nn.Module):
    """Modality-specific stacks, shared fusion layers and the three final LayerNorms."""

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        sizes = (config.hidden_size, config.num_attention_heads, config.intermediate_size)
        self.audio_layers = nn.ModuleList([SocialMAELayer(config, *sizes) for _ in range(config.num_modality_layers)])
        self.video_layers = nn.ModuleList([SocialMAELayer(config, *sizes) for _ in range(config.num_modality_layers)])
        self.fusion_layers = nn.ModuleList(
            [SocialMAELayer(config, *sizes, modality_norms=True) for _ in range(config.num_fusion_layers)]
        )
        eps = config.layer_norm_eps
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.audio_layernorm = nn.LayerNorm(config.hidden_size, eps=eps)
        self.video_layernorm = nn.LayerNorm(config.hidden_size, eps=eps)

    def encode_modality(
        self, hidden: torch.Tensor, modality: str, **kwargs: Unpack[TransformersKwargs]
    ) -> torch.Tensor:
        for layer in self.audio_layers if modality == AUDIO else self.video_layers:
            hidden = layer(hidden, **kwargs)
        return hidden

    def _shared(
        self, hidden: torch.Tensor, modality: str | None = None, **kwargs: Unpack[TransformersKwargs]
    ) -> torch.Tensor:
        for layer in self.fusion_layers:
            hidden = layer(hidden, modality=modality, **kwargs)
        return hidden

    def fuse(self, audio: torch.Tensor, video: torch.Tensor, **kwargs: Unpack[TransformersKwargs]) -> torch.Tensor:
        """Joint pass over the concatenated sequence with the joint LayerNorms."""
        return self.layernorm(self._shared(torch.cat((audio, video), dim=1), **kwargs))

    def fuse_single(self, hidden: torch.Tensor, modality: str, **kwargs: Unpack[TransformersKwargs]) -> torch.Tensor:
        """One modality through the shared layers with its own LayerNorms, then its final norm.

        The originals apply every fusion layer to the un-updated input here; with their single fusion layer
        that is the same as chaining, which is what we do for any depth.
        """
        final_norm = self.audio_layernorm if modality == AUDIO else self.video_layernorm
        return final_norm(self._shared(hidden, modality, **kwargs))

    def fuse_single_averaged(
        self, hidden: torch.Tensor, modality: str, **kwargs: Unpack[TransformersKwargs]
    ) -> torch.Tensor:
        """CAV-MAE's missing-modality inference: mean of a joint-norm pass and a modality-norm pass."""
        joint = self.layernorm(self._shared(hidden, **kwargs))
        return (joint + self.fuse_single(hidden, modality, **kwargs)) / 2


# --------------------------------------------------------------------------------------------------------------
# Pretraining decoder
# --------------------------------------------------------------------------------------------------------------


class SocialMAEDecoder(nn.Module):
    """Refills removed positions with a mask token, unshuffles each modality and predicts patches."""

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        width = config.decoder_hidden_size
        trainable = config.trainable_position_embeddings
        self.decoder_embed = nn.Linear(config.hidden_size, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.audio_position_embeddings = nn.Parameter(
            torch.zeros(1, config.num_audio_patches, width), requires_grad=trainable
        )
        self.video_position_embeddings = nn.Parameter(
            torch.zeros(1, config.num_video_patches, width), requires_grad=trainable
        )
        self.audio_modality_embedding = nn.Parameter(torch.zeros(1, 1, width))
        self.video_modality_embedding = nn.Parameter(torch.zeros(1, 1, width))
        self.layers = nn.ModuleList(
            [
                SocialMAELayer(config, width, config.decoder_num_attention_heads, config.decoder_intermediate_size)
                for _ in range(config.decoder_num_hidden_layers)
            ]
        )
        self.layernorm = nn.LayerNorm(width, eps=config.layer_norm_eps)
        self.audio_pred = nn.Linear(width, config.audio_patch_dim)
        self.video_pred = nn.Linear(width, config.video_patch_dim)

    def _unshuffle(self, kept: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        batch, num_kept, width = kept.shape
        num_removed = ids_restore.shape[1] - num_kept
        mask_tokens = self.mask_token.expand(batch, num_removed, width)
        tokens = torch.cat([kept, mask_tokens], dim=1)
        return torch.gather(tokens, 1, ids_restore.unsqueeze(-1).expand(-1, -1, width))

    def forward(
        self,
        latent: torch.Tensor,
        num_audio_kept: int,
        audio_ids_restore: torch.Tensor,
        video_ids_restore: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.decoder_embed(latent)
        audio = self._unshuffle(hidden[:, :num_audio_kept], audio_ids_restore)
        video = self._unshuffle(hidden[:, num_audio_kept:], video_ids_restore)
        audio = audio + self.audio_position_embeddings + self.audio_modality_embedding
        video = video + self.video_position_embeddings + self.video_modality_embedding
        hidden = torch.cat([audio, video], dim=1)
        for layer in self.layers:
            hidden = layer(hidden)
        hidden = self.layernorm(hidden)
        num_audio = audio.shape[1]
        return self.audio_pred(hidden[:, :num_audio]), self.video_pred(hidden[:, num_audio:])


# --------------------------------------------------------------------------------------------------------------
# Hub folders
# --------------------------------------------------------------------------------------------------------------

# The stock Auto class that reaches the classification / regression heads without this package.
HUB_HEAD_AUTO_CLASS = "AutoModelForVideoClassification"


def hub_auto_map(architecture: str) -> dict[str, str]:
    """The `auto_map` of a saved folder, so that with `trust_remote_code=True` (no package installed) AutoConfig,
    AutoModel (the encoder), the folder's own head and, for fine-tuning, a classification head all load.

    transformers' `save_pretrained` records only the saved class's own Auto class; a pretraining folder also
    needs `AutoModel`, and every folder the head key.
    """
    module = "modeling_social_mae."
    head = (
        "SocialMAEForRegression"
        if architecture == "SocialMAEForRegression"
        else "SocialMAEForAudioVisualClassification"
    )
    auto_map = {
        "AutoConfig": "configuration_social_mae.SocialMAEConfig",
        "AutoModel": module + "SocialMAEModel",
        HUB_HEAD_AUTO_CLASS: module + head,
    }
    if architecture == "SocialMAEForPreTraining":
        auto_map["AutoModelForPreTraining"] = module + architecture
    return auto_map


# The folder's file that points transformers at the installed package's pipelines (see that file). Nothing here
# imports it (it imports the pipelines, which import the models): `save_pretrained` copies it by name.
HUB_PIPELINE_FILE = "pipeline_social_mae.py"
HUB_PIPELINES = {
    # task -> (pipeline class, the stock transformers Auto class that loads its model through the folder's auto_map)
    "audio-visual-classification": ("AudioVisualClassificationPipeline", HUB_HEAD_AUTO_CLASS),
    "audio-visual-feature-extraction": ("AudioVisualFeatureExtractionPipeline", "AutoModel"),
}


def hub_custom_pipelines() -> dict:
    """The `custom_pipelines` entry of a saved folder's config.json (the format `Pipeline.save_pretrained` writes),
    so that `pipeline(task, model=folder, trust_remote_code=True)` finds our tasks without `import social_mae_hf`."""
    module = HUB_PIPELINE_FILE.removesuffix(".py")
    return {
        task: {"impl": f"{module}.{pipeline}", "pt": [auto_class], "type": "multimodal"}
        for task, (pipeline, auto_class) in HUB_PIPELINES.items()
    }


# --------------------------------------------------------------------------------------------------------------
# Pretrained model base
# --------------------------------------------------------------------------------------------------------------


class SocialMAEPreTrainedModel(PreTrainedModel):
    config: SocialMAEConfig
    config_class = SocialMAEConfig
    base_model_prefix = "social_mae"
    main_input_name = "input_values"
    input_modalities = ("audio", "video")
    supports_gradient_checkpointing = True
    _no_split_modules = ["SocialMAEEmbeddings", "SocialMAELayer"]
    # Declared where tests/test_modeling_common.py checks them on CPU. Flash attention is not declared: it needs a
    # CUDA GPU, and nothing here has run it.
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_compile_fullgraph = True
    # Per-layer outputs for `capture_outputs`: the fusion stage under the usual names, each modality stage under its
    # own (its first state is the embeddings' output for that modality, picked by index from the tuple).
    _can_record_outputs = {
        "hidden_states": OutputRecorder(
            SocialMAELayer, layer_name="fusion_layers", num_hidden_layers_key="num_fusion_layers"
        ),
        "attentions": OutputRecorder(SocialMAEAttention, index=1, layer_name="fusion_layers"),
        "audio_hidden_states": [
            OutputRecorder(SocialMAEEmbeddings, index=0),
            OutputRecorder(SocialMAELayer, layer_name="audio_layers"),
        ],
        "video_hidden_states": [
            OutputRecorder(SocialMAEEmbeddings, index=1),
            OutputRecorder(SocialMAELayer, layer_name="video_layers"),
        ],
        "audio_attentions": OutputRecorder(SocialMAEAttention, index=1, layer_name="audio_layers"),
        "video_attentions": OutputRecorder(SocialMAEAttention, index=1, layer_name="video_layers"),
    }
    # The losses are per-batch means that ignore `num_items_in_batch`: the Trainer must scale them for gradient
    # accumulation itself and not multiply them by the number of processes (it would, seeing `**kwargs`).
    accepts_loss_kwargs = False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        """As transformers', but a local path that does not exist is said to be one, not taken for a Hub id."""
        check_local_path(pretrained_model_name_or_path)
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def save_pretrained(self, save_directory, *args, **kwargs):
        """As transformers', plus, when the classes are registered for the Auto classes (importing `social_mae_hf`
        does that), what a Hub folder needs without the package: the complete `auto_map` ([`hub_auto_map`]) and
        the folder's pipelines ([`hub_custom_pipelines`] and their pointer file, when this code has it next to
        itself: a copy loaded from a folder with `trust_remote_code` has only the files it imports)."""
        if self._auto_class is None:
            return super().save_pretrained(save_directory, *args, **kwargs)
        self.config.auto_map = hub_auto_map(type(self).__name__)
        pipeline_file = Path(__file__).with_name(HUB_PIPELINE_FILE)
        if not pipeline_file.is_file():
            return super().save_pretrained(save_directory, *args, **kwargs)
        # As `Pipeline.save_pretrained` does; the config drops the entry again when the package loads it.
        self.config.custom_pipelines = hub_custom_pipelines()
        try:
            result = super().save_pretrained(save_directory, *args, **kwargs)
        finally:
            del self.config.custom_pipelines
        shutil.copyfile(pipeline_file, Path(save_directory) / HUB_PIPELINE_FILE)  # modes as the umask allows
        return result

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """The originals' init: xavier-uniform Linear and patch projections, unit LayerNorms, N(0, 0.02)
        modality embeddings and mask token, fixed sin-cos tables for positions."""
        config = self.config
        if isinstance(module, nn.Linear):
            init.xavier_uniform_(module.weight)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            init.ones_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.Conv3d)):
            # Like a Linear over the flattened patch; the bias keeps torch's default (the originals never reset it).
            flat = torch.empty(module.weight.shape[0], module.weight[0].numel())
            torch.nn.init.xavier_uniform_(flat)
            init.copy_(module.weight, flat.view_as(module.weight))
            if module.bias is not None:
                bound = 1 / math.sqrt(module.weight[0].numel())
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, SocialMAEEmbeddings):
            self._init_positions(module, config.hidden_size)
        elif isinstance(module, SocialMAEDecoder):
            self._init_positions(module, config.decoder_hidden_size)
            init.normal_(module.mask_token, std=config.initializer_range)

    def _init_positions(self, module: nn.Module, width: int) -> None:
        config = self.config
        grid_freq = config.num_mel_bins // config.audio_patch_size
        grid_time = config.audio_length // config.audio_patch_size
        audio = sincos_2d(width, grid_freq, grid_time)
        video = video_sincos(width, config.image_size // config.patch_size, config.num_frames // config.tubelet_size)
        init.copy_(module.audio_position_embeddings, audio.unsqueeze(0).to(module.audio_position_embeddings))
        init.copy_(module.video_position_embeddings, video.unsqueeze(0).to(module.video_position_embeddings))
        init.normal_(module.audio_modality_embedding, std=config.initializer_range)
        init.normal_(module.video_modality_embedding, std=config.initializer_range)

    # ---- input checks -----------------------------------------------------------------------------------------

    def _check_inputs(self, input_values: torch.Tensor | None, pixel_values: torch.Tensor | None) -> None:
        """Fail early, naming the argument, rather than deep inside a convolution.

        Shapes only: a check of the values (NaN, inf) would wait for the device on every forward. The processors
        validate values where they make them.
        """
        config = self.config
        if input_values is None and pixel_values is None:
            raise ValueError("Pass `input_values` (audio fbank), `pixel_values` (video frames), or both.")
        if input_values is not None:
            expected = (config.audio_length, config.num_mel_bins)
            if input_values.ndim != 3 or tuple(input_values.shape[1:]) != expected:
                raise ValueError(
                    f"`input_values` must have shape (batch, {expected[0]} audio frames, {expected[1]} mel bins),"
                    f" got {tuple(input_values.shape)}. The model's feature extractor pads or crops to this."
                )
        if pixel_values is not None:
            if pixel_values.ndim != 5:
                raise ValueError(
                    "`pixel_values` must have shape (batch, frames, channels, height, width), got "
                    f"{tuple(pixel_values.shape)}."
                )
            _, frames, channels, height, width = pixel_values.shape
            if frames != config.num_frames:
                raise ValueError(
                    f"`pixel_values` has {frames} frames but this model takes {config.num_frames} (config.num_frames)."
                )
            if channels != config.num_channels:
                raise ValueError(
                    f"`pixel_values` has {channels} channels but this model takes {config.num_channels}; "
                    "the layout is (batch, frames, channels, height, width)."
                )
            if (height, width) != (config.image_size, config.image_size):
                raise ValueError(
                    f"`pixel_values` frames are {height}x{width} but this model takes "
                    f"{config.image_size}x{config.image_size}."
                )
        if input_values is not None and pixel_values is not None and input_values.shape[0] != pixel_values.shape[0]:
            raise ValueError(
                f"Batch sizes differ: `input_values` has {input_values.shape[0]} clips, `pixel_values` "
                f"{pixel_values.shape[0]}."
            )


def _stage_output_flags(forward: Callable) -> Callable:
    """Let `output_hidden_states` / `output_attentions` (argument or config) ask for the modality stages too.

    `capture_outputs` records `audio_hidden_states` only for `output_audio_hidden_states=True`, a flag nobody passes.
    Placed above it, this sets the modality-stage flags from the usual ones (an index selection of hidden states
    applies to the fusion stage only) and passes `output_attentions` on to the attention layers, which need it to
    pick an implementation that returns probabilities.
    """

    @wraps(forward)
    def wrapper(self, *args, **kwargs):
        for what in ("hidden_states", "attentions"):
            wanted = kwargs.get(f"output_{what}")
            if wanted is None:
                wanted = getattr(self.config, f"output_{what}", False)
            kwargs[f"output_{what}"] = wanted
            for modality in (AUDIO, VIDEO):
                kwargs.setdefault(f"output_{modality}_{what}", wanted if isinstance(wanted, bool) else False)
        return forward(self, *args, **kwargs)

    return wrapper


def _modality_path_output(outputs: SocialMAEModelOutput, modality: str) -> BaseModelOutputWithPooling:
    """One modality's path as a plain stack: its layers then the shared ones (`config.num_hidden_layers` layers)."""

    def chain(stage: tuple | None, shared: tuple | None, skip: int) -> tuple | None:
        return None if stage is None or shared is None else stage + shared[skip:]

    return BaseModelOutputWithPooling(
        last_hidden_state=outputs.last_hidden_state,
        pooler_output=outputs.pooler_output,
        # the shared stage's first state, its input, is the modality stage's last
        hidden_states=chain(getattr(outputs, f"{modality}_hidden_states"), outputs.hidden_states, 1),
        attentions=chain(getattr(outputs, f"{modality}_attentions"), outputs.attentions, 0),
    )


# --------------------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------------------


class SocialMAEModel(SocialMAEPreTrainedModel):
    """The audiovisual encoder. Which inputs are given selects audiovisual, audio-only or visual-only."""

    # Loading the encoder of a pretraining or fine-tuned folder (`AutoModel.from_pretrained`) leaves out the
    # decoder / head on purpose: not worth a warning.
    _keys_to_ignore_on_load_unexpected = [r"^decoder\.", r"^classifier\."]

    def __init__(self, config: SocialMAEConfig):
        super().__init__(config)
        self.embeddings = SocialMAEEmbeddings(config)
        self.encoder = SocialMAEEncoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.video_patch_embeddings

    @_stage_output_flags
    @capture_outputs(tie_last_hidden_states=False)
    def forward(
        self,
        input_values: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        audio_noise: torch.Tensor | None = None,
        video_noise: torch.Tensor | None = None,
        audio_mask_ratio: float | None = None,
        video_mask_ratio: float | None = None,
        single_modality_strategy: str | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> SocialMAEModelOutput:
        r"""
        input_values (`torch.FloatTensor` of shape `(batch_size, audio_length, num_mel_bins)`, *optional*):
            Normalised Kaldi fbank, time first, from [`SocialMAEFeatureExtractor`].
        pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, num_channels, height, width)`, *optional*):
            Normalised frames, from [`SocialMAEVideoProcessor`].
        audio_mask_ratio / video_mask_ratio (`float`, *optional*):
            Remove this share of the modality's tokens before its layers, as pretraining does; no masking by default.
        audio_noise (`torch.FloatTensor` of shape `(batch_size, num_audio_patches)`, *optional*) / video_noise:
            With a mask ratio, the per-token noise that decides masking (smallest kept); uniform noise otherwise.
        single_modality_strategy (`str`, *optional*):
            Overrides `config.single_modality_strategy` for this call.
        """
        self._check_inputs(input_values, pixel_values)
        strategy = single_modality_strategy or self.config.single_modality_strategy
        if strategy not in ("modality_specific", "average_fusion"):
            raise ValueError(
                f"`single_modality_strategy` must be 'modality_specific' or 'average_fusion', got {strategy!r}."
            )
        for modality, noise, ratio in ((AUDIO, audio_noise, audio_mask_ratio), (VIDEO, video_noise, video_mask_ratio)):
            if noise is not None and ratio is None:
                raise ValueError(
                    f"`{modality}_noise` decides which tokens are masked: pass `{modality}_mask_ratio` too."
                )
        embedded = self.embeddings(
            input_values, pixel_values, audio_noise, video_noise, audio_mask_ratio, video_mask_ratio
        )
        audio = video = None
        if embedded.audio is not None:
            audio = self.encoder.encode_modality(embedded.audio, AUDIO, **kwargs)
        if embedded.video is not None:
            video = self.encoder.encode_modality(embedded.video, VIDEO, **kwargs)
        if audio is not None and video is not None:
            last_hidden_state = self.encoder.fuse(audio, video, **kwargs)
        else:
            hidden, modality = (audio, AUDIO) if audio is not None else (video, VIDEO)
            if strategy == "average_fusion":
                last_hidden_state = self.encoder.fuse_single_averaged(hidden, modality, **kwargs)
            else:
                last_hidden_state = self.encoder.fuse_single(hidden, modality, **kwargs)
        return SocialMAEModelOutput(
            last_hidden_state=last_hidden_state,
            pooler_output=last_hidden_state.mean(dim=1),
            audio_last_hidden_state=audio,
            video_last_hidden_state=video,
            audio_mask=embedded.audio_mask,
            video_mask=embedded.video_mask,
            audio_ids_restore=embedded.audio_ids_restore,
            video_ids_restore=embedded.video_ids_restore,
        )

    @can_return_tuple
    def get_audio_features(
        self, input_values: torch.Tensor, **kwargs: Unpack[TransformersKwargs]
    ) -> BaseModelOutputWithPooling:
        r"""
        The audio's modality-specific path (CAV-MAE's `forward_feat`), whatever `config.single_modality_strategy`.

        Returns a [`BaseModelOutputWithPooling`]: `last_hidden_state`, the tokens after the audio LayerNorm;
        `pooler_output`, their mean (the retrieval embedding); with `output_hidden_states` / `output_attentions`,
        the embeddings and every layer's output on the path (`config.num_hidden_layers + 1` states: audio layers,
        then shared layers) and every layer's attention probabilities.
        """
        outputs = self(
            input_values=input_values, single_modality_strategy="modality_specific", return_dict=True, **kwargs
        )
        return _modality_path_output(outputs, AUDIO)

    @can_return_tuple
    def get_video_features(
        self, pixel_values: torch.Tensor, **kwargs: Unpack[TransformersKwargs]
    ) -> BaseModelOutputWithPooling:
        r"""The video's modality-specific path, as [`~SocialMAEModel.get_audio_features`] for the audio."""
        outputs = self(
            pixel_values=pixel_values, single_modality_strategy="modality_specific", return_dict=True, **kwargs
        )
        return _modality_path_output(outputs, VIDEO)


def patch_statistics(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-patch mean and std (with the originals' 1e-6 in the variance) that `norm_pix_loss` standardises by."""
    return patches.mean(dim=-1, keepdim=True), (patches.var(dim=-1, keepdim=True) + 1.0e-6) ** 0.5


class SocialMAEForPreTraining(SocialMAEPreTrainedModel):
    """Masked reconstruction of both modalities plus audio-video contrastive learning."""

    # FSDP2 units beyond the encoder's (`SocialMAEConfig.base_model_fsdp_plan`): each decoder layer.
    _fsdp_plan = {"decoder.layers.*": "free_full_weight"}

    def __init__(self, config: SocialMAEConfig):
        super().__init__(config)
        self.social_mae = SocialMAEModel(config)
        self.decoder = SocialMAEDecoder(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.social_mae.get_input_embeddings()

    # ---- patches ----------------------------------------------------------------------------------------------

    def patchify_audio(self, input_values: torch.Tensor) -> torch.Tensor:
        """(B, T, F) fbank -> (B, F/p * T/p, p*p) patches in the encoder's frequency-major order."""
        p = self.config.audio_patch_size
        batch, frames, bins = input_values.shape
        image = input_values.transpose(1, 2).reshape(batch, bins // p, p, frames // p, p)
        return image.permute(0, 1, 3, 2, 4).reshape(batch, (bins // p) * (frames // p), p * p)

    def unpatchify_audio(self, patches: torch.Tensor) -> torch.Tensor:
        """Inverse of [`patchify_audio`]: (B, N, p*p) -> (B, T, F)."""
        config, p = self.config, self.config.audio_patch_size
        f, t = config.num_mel_bins // p, config.audio_length // p
        image = patches.reshape(patches.shape[0], f, t, p, p).permute(0, 1, 3, 2, 4)
        return image.reshape(patches.shape[0], f * p, t * p).transpose(1, 2)

    def _video_order(self, legacy_order: bool | None) -> bool:
        return self.config.legacy_video_target_order if legacy_order is None else legacy_order

    def patchify_video(self, pixel_values: torch.Tensor, legacy_order: bool | None = None) -> torch.Tensor:
        """(B, T, C, H, W) frames -> (B, N, tubelet*p*p*C) patches, each flattened (tubelet, row, column, channel).

        Tokens are in the encoder's (height, width, time) order, or, with `legacy_order` (default: the config's
        `legacy_video_target_order`), in the (time, height, width) order the released Social-MAE was trained on.
        """
        config, p, s = self.config, self.config.patch_size, self.config.tubelet_size
        batch, frames, channels, height, width = pixel_values.shape
        t, h, w = frames // s, height // p, width // p
        video = pixel_values.reshape(batch, t, s, channels, h, p, w, p)
        order = (0, 1, 4, 6, 2, 5, 7, 3) if self._video_order(legacy_order) else (0, 4, 6, 1, 2, 5, 7, 3)
        return video.permute(*order).reshape(batch, t * h * w, config.video_patch_dim)

    def unpatchify_video(self, patches: torch.Tensor, legacy_order: bool | None = None) -> torch.Tensor:
        """Inverse of [`patchify_video`]: (B, N, tubelet*p*p*C) -> (B, T, C, H, W)."""
        config, p, s = self.config, self.config.patch_size, self.config.tubelet_size
        t, h = config.num_frames // s, config.image_size // p
        c, batch = config.num_channels, patches.shape[0]
        if self._video_order(legacy_order):
            video = patches.reshape(batch, t, h, h, s, p, p, c).permute(0, 1, 4, 7, 2, 5, 3, 6)
        else:
            video = patches.reshape(batch, h, h, t, s, p, p, c).permute(0, 3, 4, 7, 1, 5, 2, 6)
        return video.reshape(batch, config.num_frames, c, h * p, h * p)

    # ---- losses -----------------------------------------------------------------------------------------------

    def _reconstruction_loss(self, logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.config.norm_pix_loss:
            mean, std = patch_statistics(target)
            target = (target - mean) / std
        per_patch = ((logits - target) ** 2).mean(dim=-1)
        return (per_patch * mask).sum() / mask.sum()

    def _contrastive(self, audio: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """InfoNCE over the batch; the originals' direction scores each video against all audio clips."""
        audio = nn.functional.normalize(audio, dim=-1)
        video = nn.functional.normalize(video, dim=-1)
        similarity = audio @ video.T / self.config.contrastive_temperature
        targets = torch.arange(similarity.shape[0], device=similarity.device)

        def one_direction(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            loss = -torch.diagonal(nn.functional.log_softmax(scores, dim=0)).mean()
            accuracy = (scores.argmax(dim=0) == targets).float().mean()
            return loss, accuracy

        loss, accuracy = one_direction(similarity)
        if self.config.contrastive_direction == "symmetric":
            loss_t, accuracy_t = one_direction(similarity.T)
            loss, accuracy = (loss + loss_t) / 2, (accuracy + accuracy_t) / 2
        return loss, accuracy

    # ---- forward ----------------------------------------------------------------------------------------------

    @can_return_tuple
    def forward(
        self,
        input_values: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        audio_noise: torch.Tensor | None = None,
        video_noise: torch.Tensor | None = None,
        audio_mask_ratio: float | None = None,
        video_mask_ratio: float | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> SocialMAEForPreTrainingOutput:
        r"""
        audio_noise (`torch.FloatTensor` of shape `(batch_size, num_audio_patches)`, *optional*) / video_noise:
            Per-token noise that decides masking (smallest kept), for reproducibility; uniform noise otherwise.
        audio_mask_ratio / video_mask_ratio (`float`, *optional*): override the config's ratios for this call.
        """
        if input_values is None or pixel_values is None:
            raise ValueError("Pretraining needs both `input_values` (audio) and `pixel_values` (video).")
        config = self.config
        encoded = self.social_mae(
            input_values,
            pixel_values,
            audio_noise=audio_noise,
            video_noise=video_noise,
            audio_mask_ratio=config.audio_mask_ratio if audio_mask_ratio is None else audio_mask_ratio,
            video_mask_ratio=config.video_mask_ratio if video_mask_ratio is None else video_mask_ratio,
            return_dict=True,
            **kwargs,
        )
        latent = encoded.last_hidden_state
        audio, video = encoded.audio_last_hidden_state, encoded.video_last_hidden_state
        audio_mask, video_mask = encoded.audio_mask, encoded.video_mask
        audio_ids_restore, video_ids_restore = encoded.audio_ids_restore, encoded.video_ids_restore

        zero = latent.new_zeros(())
        audio_logits = video_logits = audio_loss = video_loss = None
        reconstruction_loss = zero
        if config.reconstruction_loss_weight != 0:
            audio_logits, video_logits = self.decoder(latent, audio.shape[1], audio_ids_restore, video_ids_restore)
            audio_loss = self._reconstruction_loss(audio_logits, self.patchify_audio(input_values), audio_mask)
            video_loss = self._reconstruction_loss(video_logits, self.patchify_video(pixel_values), video_mask)
            reconstruction_loss = config.reconstruction_loss_weight * (audio_loss + video_loss)

        audio_tokens = video_tokens = accuracy = None
        contrastive_loss = zero
        if config.contrastive_loss_weight != 0:
            # after the encoder's call, so that these passes through the shared layers are not recorded
            encoder = self.social_mae.encoder
            audio_tokens = encoder.fuse_single(audio, AUDIO)
            video_tokens = encoder.fuse_single(video, VIDEO)
            nce, accuracy = self._contrastive(audio_tokens.mean(dim=1), video_tokens.mean(dim=1))
            contrastive_loss = config.contrastive_loss_weight * nce

        return SocialMAEForPreTrainingOutput(
            loss=reconstruction_loss + contrastive_loss,
            reconstruction_loss=reconstruction_loss,
            audio_reconstruction_loss=audio_loss,
            video_reconstruction_loss=video_loss,
            contrastive_loss=contrastive_loss,
            contrastive_accuracy=accuracy,
            audio_logits=audio_logits,
            video_logits=video_logits,
            audio_mask=audio_mask,
            video_mask=video_mask,
            audio_ids_restore=audio_ids_restore,
            video_ids_restore=video_ids_restore,
            last_hidden_state=latent,
            audio_contrastive_tokens=audio_tokens,
            video_contrastive_tokens=video_tokens,
            **{name: getattr(encoded, name) for name in RECORDED_FIELDS},
        )


class SocialMAEHead(nn.Module):
    """LayerNorm + Linear on the pooled encoder output: the originals' `mlp_head`."""

    def __init__(self, config: SocialMAEConfig):
        super().__init__()
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.dense(self.layernorm(pooled))


class SocialMAEForAudioVisualClassification(SocialMAEPreTrainedModel):
    """A clip-level head on the pooled encoder output, its loss chosen by `config.problem_type` as in transformers:
    cross-entropy (`"single_label_classification"`), BCE (`"multi_label_classification"`) or, for continuous
    targets such as the five First Impressions traits, `"regression"` with `config.regression_loss` (L1 as the
    paper, or MSE)."""

    def __init__(self, config: SocialMAEConfig):
        super().__init__(config)
        self.social_mae = SocialMAEModel(config)
        self.classifier = SocialMAEHead(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.social_mae.get_input_embeddings()

    @can_return_tuple
    def forward(
        self,
        input_values: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> SocialMAEPredictionOutput:
        r"""
        labels: class indices `(batch_size,)` or class probabilities `(batch_size, num_labels)` (soft targets, e.g.
            mixup) for `problem_type="single_label_classification"`, multi-hot `(batch_size, num_labels)` for
            `problem_type="multi_label_classification"`, or float targets `(batch_size, num_labels)` for
            `problem_type="regression"`. With `problem_type` unset, float `(batch_size, num_labels)` labels are
            taken as multi-label, anything else as single-label.
        """
        outputs = self.social_mae(input_values=input_values, pixel_values=pixel_values, return_dict=True, **kwargs)
        logits = self.classifier(outputs.pooler_output)
        loss = self._loss(logits, labels) if labels is not None else None
        return SocialMAEPredictionOutput(
            loss=loss,
            logits=logits,
            pooler_output=outputs.pooler_output,
            **{name: getattr(outputs, name) for name in RECORDED_FIELDS},
        )

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        config = self.config
        if config.problem_type is None:
            multi = labels.dtype.is_floating_point and labels.shape == logits.shape
            config.problem_type = "multi_label_classification" if multi else "single_label_classification"
        if config.problem_type == "regression":
            return _regression_loss(logits, labels, config.regression_loss)
        if config.problem_type == "multi_label_classification":
            if labels.shape != logits.shape:
                raise ValueError(
                    f"Multi-label `labels` must have shape {tuple(logits.shape)}, got {tuple(labels.shape)}."
                )
            return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        if labels.dtype.is_floating_point and labels.shape == logits.shape:
            # Class probabilities (mixup, label smoothing): soft-target cross-entropy.
            return nn.functional.cross_entropy(logits, labels.to(logits.dtype))
        if labels.ndim != 1 or labels.dtype.is_floating_point:
            raise ValueError(
                f"Single-label `labels` must be class indices of shape (batch,) or class probabilities of shape "
                f"{tuple(logits.shape)}, got {tuple(labels.shape)} {labels.dtype}."
            )
        # No range check here: it would wait for the device on every step; cross-entropy refuses an index out of
        # range itself (and skips -100, transformers' ignore index).
        return nn.functional.cross_entropy(logits, labels)


def _regression_loss(logits: torch.Tensor, labels: torch.Tensor, kind: str) -> torch.Tensor:
    labels = labels.to(logits.dtype)
    if labels.ndim == 1 and logits.shape[1] == 1:
        labels = labels.unsqueeze(1)
    if labels.shape != logits.shape:
        raise ValueError(
            f"Regression `labels` must have shape {tuple(logits.shape)} (batch, num_labels), got {tuple(labels.shape)}."
        )
    if kind == "mse":
        return nn.functional.mse_loss(logits, labels)
    return nn.functional.l1_loss(logits, labels)


class SocialMAEForRegression(SocialMAEForAudioVisualClassification):
    """[`SocialMAEForAudioVisualClassification`] with `problem_type="regression"`: the name regression folders
    are saved under (their `architectures`), kept so that they load as before."""

    def __init__(self, config: SocialMAEConfig):
        if config.problem_type is None:
            config.problem_type = "regression"
        elif config.problem_type != "regression":
            raise ValueError(
                f"SocialMAEForRegression needs `problem_type='regression'`, got {config.problem_type!r}; use "
                "SocialMAEForAudioVisualClassification for classification."
            )
        super().__init__(config)


__all__ = [
    "HUB_HEAD_AUTO_CLASS",
    "SocialMAEForAudioVisualClassification",
    "SocialMAEForPreTraining",
    "SocialMAEForRegression",
    "SocialMAEModel",
    "SocialMAEPreTrainedModel",
    "hub_auto_map",
    "hub_custom_pipelines",
    "patch_statistics",
]
