"""Registration with the transformers Auto classes, and with `save_pretrained`'s remote-code machinery.

transformers has no audio-visual classification Auto class, so we add `AutoModelForAudioVisualClassification`
built on transformers' own auto-class machinery; everything else uses the stock Auto classes.

Heads: classification and regression share the config class, and an Auto mapping holds one class per config
class, so `AutoModelForAudioVisualClassification.from_pretrained` reads the saved architecture and loads a
regression folder as `SocialMAEForRegression` (new models from `from_config` get the classification head).

Without this package, a folder saved with it loads with `trust_remote_code=True` through its `auto_map` (see
`modeling_social_mae.hub_auto_map`): the heads under the stock `AutoModelForVideoClassification` (regression
counting as classification, as `problem_type="regression"` does in transformers). That key is not registered
locally, so with the package installed and `trust_remote_code=True` it runs the folder's copy of the code.
"""

from collections import OrderedDict

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForPreTraining,
    AutoProcessor,
    PreTrainedConfig,
)
from transformers.models.auto.auto_factory import _BaseAutoModelClass, _LazyAutoMapping
from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

# `transformers.AutoVideoProcessor` is a placeholder when torchvision is not installed; the class itself is not.
from transformers.models.auto.video_processing_auto import AutoVideoProcessor

from .configuration_social_mae import SocialMAEConfig
from .feature_extraction_social_mae import SocialMAEFeatureExtractor
from .loading import hub_kwargs, saved_architecture
from .modeling_social_mae import (
    HUB_HEAD_AUTO_CLASS,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
)
from .processing_social_mae import SocialMAEProcessor
from .video_processing_social_mae import SocialMAEVideoProcessor

HEADS = (SocialMAEForAudioVisualClassification, SocialMAEForRegression)


class AutoModelForAudioVisualClassification(_BaseAutoModelClass):
    """`from_pretrained` / `from_config` for models with an audio-visual classification (or regression) head."""

    _model_mapping = _LazyAutoMapping(CONFIG_MAPPING_NAMES, OrderedDict())

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """As any Auto class; a folder saved as `SocialMAEForRegression` loads as one."""
        config = kwargs.get("config")
        if not isinstance(config, PreTrainedConfig):
            config = AutoConfig.from_pretrained(
                pretrained_model_name_or_path, trust_remote_code=kwargs.get("trust_remote_code"), **hub_kwargs(kwargs)
            )
        if isinstance(config, SocialMAEConfig) and saved_architecture(config) == SocialMAEForRegression.__name__:
            for auto_only in ("trust_remote_code", "code_revision"):  # Auto-class arguments a model class refuses
                kwargs.pop(auto_only, None)
            return SocialMAEForRegression.from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)


def register_auto_classes() -> None:
    """Idempotent, so that re-importing (or importing next to a Hub copy of the code) is harmless.

    Also marks every class for its Auto class (`register_for_auto_class`), so that `save_pretrained` and
    `push_to_hub` copy the code files next to the weights and write `auto_map`: the folder then loads with
    `trust_remote_code=True` where this package is not installed.
    """
    AutoConfig.register(SocialMAEConfig.model_type, SocialMAEConfig, exist_ok=True)
    AutoModel.register(SocialMAEConfig, SocialMAEModel, exist_ok=True)
    AutoModelForPreTraining.register(SocialMAEConfig, SocialMAEForPreTraining, exist_ok=True)
    AutoModelForAudioVisualClassification.register(
        SocialMAEConfig, SocialMAEForAudioVisualClassification, exist_ok=True
    )
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
