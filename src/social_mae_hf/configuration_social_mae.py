"""Configuration of the Social-MAE / CAV-MAE audiovisual masked autoencoders."""

from typing import Literal

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .pipeline_social_mae import hub_custom_pipelines


@strict
class SocialMAEConfig(PreTrainedConfig):
    r"""
    One configuration for both published families: Social-MAE (8 frames cut in tubelets of 2) and its
    parent CAV-MAE (`num_frames=1, tubelet_size=1`, a single RGB frame). Defaults are the released
    Social-MAE base model; [`SocialMAEConfig.social_mae`] and [`SocialMAEConfig.cav_mae`] give the presets.

    Architecture: two modality-specific stacks (`num_modality_layers` each) then `num_fusion_layers` shared
    layers, each layer owning three pairs of LayerNorms (joint sequence, audio alone, video alone).

    Args:
        hidden_size: Width of the encoder.
        num_attention_heads: Attention heads of every encoder layer.
        num_modality_layers: Layers of the audio stack and (separately) of the video stack.
        num_fusion_layers: Shared layers after the two stacks (12 minus `num_modality_layers` in the originals).
        intermediate_size: Hidden width of the MLPs (4 x `hidden_size` in the originals).
        hidden_act: MLP activation; the originals use exact (erf) GELU.
        hidden_dropout_prob: Dropout on attention and MLP outputs (0 in the originals).
        attention_probs_dropout_prob: Dropout on attention probabilities (0 in the originals).
        layer_norm_eps: LayerNorm epsilon; the originals use torch's default 1e-5, not timm's 1e-6.
        qkv_bias: Whether the fused query/key/value projection has a bias.
        initializer_range: Std of the normal init of modality embeddings and the mask token.
        num_mel_bins: Mel bins of the fbank input (frequency axis).
        audio_length: Fbank frames per clip (time axis); 1024 frames = 10.24 s at a 10 ms hop.
        audio_patch_size: Square patch cut out of the spectrogram.
        image_size: Height and width of a video frame.
        patch_size: Square spatial patch of the video.
        num_channels: Video channels.
        num_frames: Frames per clip; 1 for CAV-MAE.
        tubelet_size: Frames merged into one video token; 1 for CAV-MAE.
        trainable_position_embeddings: Whether position embeddings are learned (`tr_pos` of the originals).
        decoder_hidden_size, decoder_num_hidden_layers, decoder_num_attention_heads, decoder_intermediate_size:
            The pretraining decoder.
        audio_mask_ratio, video_mask_ratio: Share of tokens removed per modality during pretraining.
        norm_pix_loss: Normalise each target patch before the reconstruction loss.
        reconstruction_loss_weight: Weight of the summed audio + video reconstruction losses.
        contrastive_loss_weight: Weight of the contrastive loss (already applied to the reported value).
        contrastive_temperature: Divisor of the cosine similarity matrix.
        contrastive_direction: `"audio_to_video"` is the originals' one-directional loss (softmax over audio
            clips for each video); `"symmetric"` averages both directions (CAV-MAE's `bidirect_contrast`).
        legacy_video_target_order: Reproduce the released Social-MAE pretraining quirk: reconstruction targets
            are patchified in (time, height, width) order and scored index-by-index against predictions in the
            encoder's (height, width, time) order. On for converted Social-MAE checkpoints, off for new models.
        single_modality_strategy: What the shared layers do when only one modality is given.
            `"modality_specific"` runs them with that modality's LayerNorms (the originals' audioonly/videoonly);
            `"average_fusion"` averages that pass with a pass through the joint LayerNorms (CAV-MAE's
            missingaudioonly/missingvideoonly, for models fine-tuned on both modalities).
        regression_loss: Loss of the head under `problem_type="regression"`: `"l1"` (the paper) or `"mse"`.
    """

    model_type = "social-mae"
    # What `Trainer.prediction_step` leaves out of `EvalPrediction.predictions`, so that a head's predictions are
    # its logits alone (transformers' convention): the encoder's states, pooled output and masking bookkeeping.
    keys_to_ignore_at_inference = [
        "pooler_output",
        "last_hidden_state",
        "audio_last_hidden_state",
        "video_last_hidden_state",
        "hidden_states",
        "audio_hidden_states",
        "video_hidden_states",
        "attentions",
        "audio_attentions",
        "video_attentions",
        "audio_ids_restore",
        "video_ids_restore",
        "audio_contrastive_tokens",
        "video_contrastive_tokens",
    ]

    hidden_size: int = 768
    num_attention_heads: int = 12
    num_modality_layers: int = 11
    num_fusion_layers: int = 1
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float | int = 0.0
    attention_probs_dropout_prob: float | int = 0.0
    layer_norm_eps: float = 1e-5
    qkv_bias: bool = True
    initializer_range: float = 0.02

    num_mel_bins: int = 128
    audio_length: int = 1024
    audio_patch_size: int = 16

    image_size: int = 224
    patch_size: int = 16
    num_channels: int = 3
    num_frames: int = 8
    tubelet_size: int = 2
    trainable_position_embeddings: bool = True

    decoder_hidden_size: int = 512
    decoder_num_hidden_layers: int = 8
    decoder_num_attention_heads: int = 16
    decoder_intermediate_size: int = 2048

    audio_mask_ratio: float = 0.75
    video_mask_ratio: float = 0.75
    norm_pix_loss: bool = False
    reconstruction_loss_weight: float = 1.0
    contrastive_loss_weight: float = 0.01
    contrastive_temperature: float = 0.05
    contrastive_direction: Literal["audio_to_video", "symmetric"] = "audio_to_video"
    legacy_video_target_order: bool = False

    single_modality_strategy: Literal["modality_specific", "average_fusion"] = "modality_specific"
    regression_loss: Literal["l1", "mse"] = "l1"

    def __post_init__(self, **kwargs):
        # A saved folder's `custom_pipelines` (see `pipeline_social_mae`) serve transformers without this package.
        # The package registers its pipelines with transformers, which would prefer a loaded config's entry and ask
        # for trust_remote_code; so the package's config drops it and a folder's copy of this file keeps it.
        if __package__ == "social_mae_hf":
            kwargs.pop("custom_pipelines", None)
        super().__post_init__(**kwargs)

    def to_dict(self) -> dict:
        """As transformers', plus the folder's `custom_pipelines` when saved with its code (for the Hub)."""
        output = super().to_dict()
        if self._auto_class is not None:
            output["custom_pipelines"] = hub_custom_pipelines()
        return output

    @classmethod
    def social_mae(cls, **kwargs) -> "SocialMAEConfig":
        """The released Social-MAE: 8 BGR frames in tubelets of 2, trained with the video target-order quirk."""
        defaults = {"num_frames": 8, "tubelet_size": 2, "legacy_video_target_order": True}
        return cls(**{**defaults, **kwargs})

    @classmethod
    def cav_mae(cls, **kwargs) -> "SocialMAEConfig":
        """The released CAV-MAE: one RGB frame, 2D patches."""
        defaults = {"num_frames": 1, "tubelet_size": 1, "legacy_video_target_order": False}
        return cls(**{**defaults, **kwargs})

    @property
    def num_hidden_layers(self) -> int:
        """Encoder layers on one modality's path: `num_modality_layers + num_fusion_layers`.

        The audio and the video stacks run side by side, so this is the depth a token goes through (and the number
        of layers [`SocialMAEModel.get_audio_features`] reports states for), not the number of layer modules
        (`2 * num_modality_layers + num_fusion_layers`). The pretraining decoder is not counted. Read-only: set
        `num_modality_layers` and `num_fusion_layers`.
        """
        return self.num_modality_layers + self.num_fusion_layers

    @num_hidden_layers.setter
    def num_hidden_layers(self, value: int) -> None:
        raise NotImplementedError(
            f"`num_hidden_layers` ({value}) cannot be set on SocialMAEConfig: it is `num_modality_layers + "
            "num_fusion_layers`; set those instead."
        )

    @property
    def num_audio_patches(self) -> int:
        return (self.num_mel_bins // self.audio_patch_size) * (self.audio_length // self.audio_patch_size)

    @property
    def num_video_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2 * (self.num_frames // self.tubelet_size)

    @property
    def video_patch_dim(self) -> int:
        """Values in one video token: tubelet x patch x patch x channels."""
        return self.tubelet_size * self.patch_size**2 * self.num_channels

    @property
    def audio_patch_dim(self) -> int:
        return self.audio_patch_size**2

    def validate_architecture(self):
        """Reject settings the model cannot be built with, naming the offending values."""
        _require_positive(
            self,
            "hidden_size",
            "num_attention_heads",
            "num_modality_layers",
            "num_fusion_layers",
            "intermediate_size",
            "num_mel_bins",
            "audio_length",
            "audio_patch_size",
            "image_size",
            "patch_size",
            "num_channels",
            "num_frames",
            "tubelet_size",
            "decoder_hidden_size",
            "decoder_num_hidden_layers",
            "decoder_num_attention_heads",
            "decoder_intermediate_size",
        )
        _require_divisible(self.hidden_size, self.num_attention_heads, "hidden_size", "num_attention_heads")
        _require_divisible(
            self.decoder_hidden_size,
            self.decoder_num_attention_heads,
            "decoder_hidden_size",
            "decoder_num_attention_heads",
        )
        _require_divisible(self.image_size, self.patch_size, "image_size", "patch_size")
        _require_divisible(self.num_frames, self.tubelet_size, "num_frames", "tubelet_size")
        _require_divisible(self.num_mel_bins, self.audio_patch_size, "num_mel_bins", "audio_patch_size")
        _require_divisible(self.audio_length, self.audio_patch_size, "audio_length", "audio_patch_size")
        for name in ("hidden_size", "decoder_hidden_size"):
            if getattr(self, name) % 4:
                raise ValueError(
                    f"`{name}` ({getattr(self, name)}) must be divisible by 4 for the 2D sin-cos positions."
                )
        for name in ("audio_mask_ratio", "video_mask_ratio"):
            ratio = getattr(self, name)
            if not 0.0 <= ratio < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1) so that at least one token is kept, got {ratio}.")
        if self.contrastive_temperature <= 0:
            raise ValueError(f"`contrastive_temperature` must be positive, got {self.contrastive_temperature}.")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"`{name}` must be in [0, 1), got {getattr(self, name)}.")
        if self.legacy_video_target_order and self.num_frames == 1:
            raise ValueError(
                "`legacy_video_target_order` reproduces a Social-MAE (multi-frame) quirk; "
                "it has no meaning for a single-frame (CAV-MAE) model."
            )


def _require_positive(config: SocialMAEConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if value <= 0:
            raise ValueError(f"`{name}` must be a positive integer, got {value}.")


def _require_divisible(value: int, divisor: int, name: str, divisor_name: str) -> None:
    if value % divisor:
        raise ValueError(f"`{name}` ({value}) must be divisible by `{divisor_name}` ({divisor}).")


__all__ = ["SocialMAEConfig"]
