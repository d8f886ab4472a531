"""Registration with the transformers Auto classes.

transformers has no audio-visual classification head class, so we add `AutoModelForAudioVisualClassification`
built on transformers' own auto-class machinery; everything else uses the stock Auto classes.
"""

from collections import OrderedDict

from transformers import AutoConfig, AutoFeatureExtractor, AutoModel, AutoModelForPreTraining
from transformers.models.auto.auto_factory import _BaseAutoModelClass, _LazyAutoMapping
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

from .configuration_social_mae import SocialMAEConfig
from .feature_extraction_social_mae import SocialMAEFeatureExtractor
from .modeling_social_mae import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEModel,
)


class AutoModelForAudioVisualClassification(_BaseAutoModelClass):
    """`from_pretrained` / `from_config` for models with an audio-visual classification head."""

    _model_mapping = _LazyAutoMapping(CONFIG_MAPPING_NAMES, OrderedDict())


def register_auto_classes() -> None:
    """Idempotent, so that re-importing (or importing next to a Hub copy of the code) is harmless."""
    AutoConfig.register(SocialMAEConfig.model_type, SocialMAEConfig, exist_ok=True)
    AutoModel.register(SocialMAEConfig, SocialMAEModel, exist_ok=True)
    AutoModelForPreTraining.register(SocialMAEConfig, SocialMAEForPreTraining, exist_ok=True)
    AutoModelForAudioVisualClassification.register(
        SocialMAEConfig, SocialMAEForAudioVisualClassification, exist_ok=True
    )
    AutoFeatureExtractor.register(SocialMAEConfig, SocialMAEFeatureExtractor, exist_ok=True)
