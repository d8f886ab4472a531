"""The checks transformers runs on its own models (ModelTesterMixin, ConfigTester), written for our four classes.

Config: round trips and the common properties. Models: save/load, batching, determinism, hidden-state and attention
outputs under eager and sdpa, gradient checkpointing, offloading, `dtype` loading, torch.export, the
`get_*_features` contract. Tiny configs keep the file fast on two CPU cores.
"""

import pytest
from conftest import tiny_config

from social_mae_hf import SocialMAEConfig

# ---- config ------------------------------------------------------------------------------------------------


def test_config_common_properties():
    """ConfigTester's common properties: readable; `num_hidden_layers` derived and read-only, as in FunnelConfig."""
    config = tiny_config(num_modality_layers=3, num_fusion_layers=2)
    assert (config.hidden_size, config.num_attention_heads) == (32, 4)
    assert config.num_hidden_layers == 5
    config.num_fusion_layers = 1
    assert config.num_hidden_layers == 4
    with pytest.raises(NotImplementedError, match="set those instead"):
        config.num_hidden_layers = 6
    with pytest.raises(NotImplementedError, match="`num_modality_layers \\+ num_fusion_layers`"):
        SocialMAEConfig(num_hidden_layers=6)


def test_config_round_trips_without_the_derived_property(tmp_path):
    config = tiny_config(num_modality_layers=3)
    assert "num_hidden_layers" not in config.to_dict()
    assert "num_hidden_layers" not in config.to_diff_dict()
    config.save_pretrained(tmp_path)
    loaded = SocialMAEConfig.from_pretrained(tmp_path)
    assert loaded.to_dict() == config.to_dict()
    assert loaded.num_hidden_layers == 4
    assert SocialMAEConfig.from_dict(config.to_dict()).num_hidden_layers == 4
    assert SocialMAEConfig.from_json_file(tmp_path / "config.json").to_dict() == config.to_dict()
