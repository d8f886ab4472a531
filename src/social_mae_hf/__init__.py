"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers.

Importing the package registers the config and models with the transformers Auto classes, and the
"audio-visual-classification" and "audio-visual-feature-extraction" tasks with `transformers.pipeline`.

Layout, in the order data flows (media file -> decoding -> features -> model -> head -> task output):

- Flat modules are the ones a Hub folder carries as remote code: `save_pretrained` copies each registered class's
  module and what it imports (relative imports must stay flat for that, and be written `from .module import`):
  `configuration_social_mae`, `modeling_social_mae`, `processing_social_mae` (the processor: opens media files,
  hands audio to `feature_extraction_social_mae` and frames to `video_processing_social_mae`) and what they import
  (`media` decodes with PyAV, `fbank` is the Kaldi log-mel, `frame_sampling` the originals' frame choice,
  `batching` names batch items, `legacy_settings` reads folders saved before the processor split, `errors`).
  Next to them, `auto` registers the Auto classes, `loading` loads a saved model and its processor for a job,
  `hub` asks whether the Hub is usable, `retrieval` and `reconstruction` are small tools on model outputs.
- Packages group the rest by job: `pipelines/` (the two transformers pipelines), `conversion/` (original
  checkpoints -> Hub folders), `cli/` (one module per `social-mae` command), `synthetic/` (generated media),
  `training/` (the parts `examples/run_finetune.py` and `examples/run_pretrain.py` assemble: `training/data/` for
  manifests, datasets, shards and streams, decoding and batching; labels, model start, inflation, Trainer,
  metrics). The scripts hold
  their arguments and the run, as transformers' examples do.
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
from .processing_social_mae import SocialMAEProcessor
from .retrieval import recall_at_k, similarity_matrix
from .video_processing_social_mae import SocialMAEVideoProcessor

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
    "SocialMAEProcessor",
    "SocialMAEVideoProcessor",
    "recall_at_k",
    "similarity_matrix",
]
