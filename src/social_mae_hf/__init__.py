"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers.

Importing the package registers the config and models with the transformers Auto classes, and the
"audio-visual-classification" and "audio-visual-feature-extraction" tasks with `transformers.pipeline`.
"""

from .auto import AutoModelForAudioVisualClassification, register_auto_classes
from .configuration_social_mae import SocialMAEConfig
from .errors import InvalidInputError, MediaDecodeError, MissingModalityError, ModelFilesError
from .feature_extraction_social_mae import SocialMAEFeatureExtractor
from .media import MediaFile
from .modeling_social_mae import (
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEForRegression,
    SocialMAEModel,
    SocialMAEPreTrainedModel,
)
from .pipelines import (
    AudioVisualClassificationPipeline,
    AudioVisualFeatureExtractionPipeline,
    register_pipelines,
)
from .retrieval import recall_at_k, similarity_matrix

register_auto_classes()
register_pipelines()

__all__ = [
    "AudioVisualClassificationPipeline",
    "AudioVisualFeatureExtractionPipeline",
    "AutoModelForAudioVisualClassification",
    "InvalidInputError",
    "MediaDecodeError",
    "MediaFile",
    "MissingModalityError",
    "ModelFilesError",
    "SocialMAEConfig",
    "SocialMAEFeatureExtractor",
    "SocialMAEForAudioVisualClassification",
    "SocialMAEForPreTraining",
    "SocialMAEForRegression",
    "SocialMAEModel",
    "SocialMAEPreTrainedModel",
    "recall_at_k",
    "similarity_matrix",
]
