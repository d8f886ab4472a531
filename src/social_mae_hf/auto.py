"""Registration with the transformers Auto classes, and with `save_pretrained`'s remote-code machinery.

transformers has no audio-visual classification Auto class, so we add `AutoModelForAudioVisualClassification`
built on transformers' own auto-class machinery; everything else uses the stock Auto classes.

Heads: classification and regression share the config class, so both are registered as one tuple, which
transformers resolves by the saved architecture: a regression folder loads as `SocialMAEForRegression` (new models
from `from_config` get the classification head). They are registered under `AutoModelForVideoClassification` too,
so that transformers' own `pipeline("video-classification", model=folder)` runs them on video alone.

Without this package, a folder saved with it loads with `trust_remote_code=True` through its `auto_map` (see
`modeling_social_mae.hub_auto_map`): the heads under the stock `AutoModelForVideoClassification` (regression
counting as classification, as `problem_type="regression"` does in transformers), the processor and its two parts
under `AutoProcessor`, `AutoFeatureExtractor` and `AutoVideoProcessor` (the `auto_map` of `processor_config.json`).
"""

import copy
from collections import OrderedDict

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForVideoClassification,
    AutoProcessor,
)
from transformers.models.auto.auto_factory import _BaseAutoModelClass, _LazyAutoMapping
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

# `transformers.AutoVideoProcessor` is a placeholder when torchvision is not installed; the class itself is not.
from transformers.models.auto.video_processing_auto import AutoVideoProcessor

from .configuration_social_mae import SocialMAEConfig
from .feature_extraction_social_mae import SocialMAEFeatureExtractor
from .modeling_social_mae import (
    HUB_HEAD_AUTO_CLASS,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
)
from .processing_social_mae import SocialMAEProcessor
from .video_processing_social_mae import SocialMAEVideoProcessor

# The first is what `from_config` builds; `from_pretrained` picks the saved architecture.
HEADS = (SocialMAEForAudioVisualClassification, SocialMAEForRegression)


class AutoModelForAudioVisualClassification(_BaseAutoModelClass):
    """`from_pretrained` / `from_config` for models with an audio-visual classification (or regression) head."""

    _model_mapping = _LazyAutoMapping(CONFIG_MAPPING_NAMES, OrderedDict())

    @classmethod
    def from_config(cls, config, **kwargs):
        """As any Auto class; a new model gets the classification head."""
        if isinstance(config, SocialMAEConfig) and not config.architectures:
            # transformers (5.24) picks among a tuple of classes by `config.architectures` and fails when it is
            # None, as in every fresh config (its own tuples too, e.g. `AutoModel.from_config(FunnelConfig())`).
            config = copy.deepcopy(config)
            config.architectures = [HEADS[0].__name__]
        return super().from_config(config, **kwargs)


def register_auto_classes() -> None:
    """Idempotent, so that re-importing (or importing next to a Hub copy of the code) is harmless.

    Also marks every class for its Auto class (`register_for_auto_class`), so that `save_pretrained` and
    `push_to_hub` copy the code files next to the weights and write `auto_map`: the folder then loads with
    `trust_remote_code=True` where this package is not installed.
    """
    AutoConfig.register(SocialMAEConfig.model_type, SocialMAEConfig, exist_ok=True)
    AutoModel.register(SocialMAEConfig, SocialMAEModel, exist_ok=True)
    AutoModelForPreTraining.register(SocialMAEConfig, SocialMAEForPreTraining, exist_ok=True)
    AutoModelForAudioVisualClassification.register(SocialMAEConfig, HEADS, exist_ok=True)
    AutoModelForVideoClassification.register(SocialMAEConfig, HEADS, exist_ok=True)
    AutoFeatureExtractor.register(SocialMAEConfig, SocialMAEFeatureExtractor, exist_ok=True)
    AutoVideoProcessor.register(SocialMAEConfig, SocialMAEVideoProcessor, exist_ok=True)
    AutoProcessor.register(SocialMAEConfig, SocialMAEProcessor, exist_ok=True)

    SocialMAEConfig.register_for_auto_class("AutoConfig")
    SocialMAEModel.register_for_auto_class("AutoModel")
    SocialMAEForPreTraining.register_for_auto_class("AutoModelForPreTraining")
    for head in HEADS:
        head.register_for_auto_class(HUB_HEAD_AUTO_CLASS)
    SocialMAEFeatureExtractor.register_for_auto_class("AutoFeatureExtractor")
    SocialMAEVideoProcessor.register_for_auto_class("AutoVideoProcessor")
    SocialMAEProcessor.register_for_auto_class("AutoProcessor")
