"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers.

Importing the package registers the config and models with the transformers Auto classes.
"""

from .auto import AutoModelForAudioVisualClassification, register_auto_classes
from .configuration_social_mae import SocialMAEConfig
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
    "SocialMAEConfig",
    "SocialMAEForAudioVisualClassification",
    "SocialMAEForPreTraining",
    "SocialMAEForRegression",
    "SocialMAEModel",
    "SocialMAEPreTrainedModel",
]
