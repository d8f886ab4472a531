"""SocialMAEConfig: presets, serialisation and validation with clear messages."""

import pytest
from huggingface_hub.errors import StrictDataclassError

from social_mae_hf import SocialMAEConfig


def test_defaults_are_the_released_social_mae_base():
    config = SocialMAEConfig()
    assert (config.hidden_size, config.num_attention_heads, config.num_modality_layers) == (768, 12, 11)
    assert (config.num_fusion_layers, config.intermediate_size, config.layer_norm_eps) == (1, 3072, 1e-5)
    assert (config.audio_length, config.num_mel_bins, config.image_size) == (1024, 128, 224)
    assert (config.num_frames, config.tubelet_size) == (8, 2)
    assert config.num_audio_patches == 512
    assert config.num_video_patches == 784
    assert config.video_patch_dim == 1536
    assert (config.decoder_hidden_size, config.decoder_num_hidden_layers, config.decoder_num_attention_heads) == (
        512,
        8,
        16,
    )
    assert (config.reconstruction_loss_weight, config.contrastive_loss_weight) == (1.0, 0.01)
    assert config.contrastive_temperature == 0.05
    assert config.legacy_video_target_order is False


def test_presets():
    social = SocialMAEConfig.social_mae()
    assert (social.num_frames, social.tubelet_size, social.legacy_video_target_order) == (8, 2, True)
    cav = SocialMAEConfig.cav_mae(num_labels=527)
    assert (cav.num_frames, cav.tubelet_size, cav.num_video_patches, cav.num_labels) == (1, 1, 196, 527)
    assert cav.legacy_video_target_order is False


def test_json_round_trip(tmp_path):
    config = SocialMAEConfig.social_mae(single_modality_strategy="average_fusion", id2label={0: "a", 1: "b"})
    config.save_pretrained(tmp_path)
    loaded = SocialMAEConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.model_type == "social-mae"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hidden_size": 100}, r"`hidden_size` \(100\) must be divisible by `num_attention_heads` \(12\)"),
        ({"decoder_num_attention_heads": 3}, r"`decoder_hidden_size` \(512\) must be divisible"),
        ({"image_size": 225}, r"`image_size` \(225\) must be divisible by `patch_size` \(16\)"),
        ({"num_frames": 7}, r"`num_frames` \(7\) must be divisible by `tubelet_size` \(2\)"),
        ({"audio_length": 1000}, r"`audio_length` \(1000\) must be divisible by `audio_patch_size`"),
        ({"audio_mask_ratio": 1.0}, r"`audio_mask_ratio` must be in \[0, 1\)"),
        ({"num_fusion_layers": 0}, "`num_fusion_layers` must be a positive integer"),
        ({"contrastive_temperature": 0.0}, "`contrastive_temperature` must be positive"),
        ({"hidden_size": 30, "num_attention_heads": 6}, "divisible by 4 for the 2D sin-cos"),
        ({"single_modality_strategy": "concat"}, "single_modality_strategy"),
        ({"contrastive_direction": "both"}, "contrastive_direction"),
        ({"num_frames": 1, "tubelet_size": 1, "legacy_video_target_order": True}, "no meaning for a single-frame"),
    ],
)
def test_invalid_settings_are_refused(kwargs, message):
    with pytest.raises(StrictDataclassError, match=message):
        SocialMAEConfig(**kwargs)
