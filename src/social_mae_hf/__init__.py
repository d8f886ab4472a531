"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers.

Importing the package registers the config and models with the transformers Auto classes.
"""

from .auto import AutoModelForAudioVisualClassification, register_auto_classes
from .configuration_social_mae import SocialMAEConfig
from .errors import InvalidInputError, MediaDecodeError, MissingModalityError
from .feature_extraction_social_mae import SocialMAEFeatureExtractor
from .media import MediaFile
from .modeling_social_mae import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEPreTrainedModel,
)

register_auto_classes()

__all__ = [
    "AutoModelForAudioVisualClassification",
    "InvalidInputError",
    "MediaDecodeError",
    "MediaFile",
    "MissingModalityError",
    "SocialMAEConfig",
    "SocialMAEFeatureExtractor",
    "SocialMAEForAudioVisualClassification",
    "SocialMAEForPreTraining",
    "SocialMAEForRegression",
    "SocialMAEModel",
    "SocialMAEPreTrainedModel",
]
