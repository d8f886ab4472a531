"""Social-MAE and CAV-MAE audiovisual masked autoencoders, native to Hugging Face transformers.

Importing the package registers the config and models with the transformers Auto classes, and the
"audio-visual-classification" and "audio-visual-feature-extraction" tasks with `transformers.pipeline`. Importing it
is cheap: its classes are imported on first use, and registering waits until transformers imports its Auto
classes or pipelines (`registration`), so that the command line starts without torch.

Layout, in the order data flows (media file -> decoding -> features -> model -> head -> task output):

- Flat modules are the ones a Hub folder carries as remote code: `save_pretrained` copies each registered class's
  module and what it imports (relative imports must stay flat for that, and be written `from .module import`):
  `configuration_social_mae`, `modeling_social_mae`, `processing_social_mae` (the processor: opens media files,
  hands audio to `feature_extraction_social_mae` and frames to `video_processing_social_mae`) and what they import
  (`media` decodes with PyAV, `fbank` is the Kaldi log-mel, `frame_sampling` the originals' frame choice,
  `face_crop` the optional crop around the face, `batching` names batch items, `legacy_settings` reads folders
  saved before the processor split, `errors`, and `pipeline_social_mae`, the folder's `custom_pipelines` entry
  that points transformers at the installed package's pipelines).
  Next to them, `registration` registers with transformers when its machinery is imported, `auto` registers the
  Auto classes, `loading` loads a saved model and its processor for a job, `hub` asks whether the Hub is usable,
  `files` writes result files, `retrieval` and `reconstruction` are small tools on model outputs.
- Packages group the rest by job: `pipelines/` (the two transformers pipelines), `conversion/` (original
  checkpoints -> Hub folders), `cli/` (one module per `social-mae` command), `synthetic/` (generated media),
  `manifests/` (manifest writers for public datasets' layouts), `shards/` (tar shards: format, writer, precomputed
  features, the exact-resume reader), `training/` (what `examples/run_finetune.py` and `examples/run_pretrain.py`
  use: clips through `datasets` and their decoding, batching, model start and inflation, the Trainer), and
  `metrics` (the scores of the paper, for training and `social-mae evaluate`). The scripts hold their arguments and
  the run, as transformers' examples do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import InvalidInputError, MediaDecodeError, MissingModalityError, ModelFilesError
from .registration import register, register_when_transformers_is_used

# Public name -> module that defines it, imported on first use (PEP 562).
_LAZY = {
    "AutoModelForAudioVisualClassification": "auto",
    "register_auto_classes": "auto",
    "SocialMAEConfig": "configuration_social_mae",
    "SocialMAEFeatureExtractor": "feature_extraction_social_mae",
    "MediaFile": "media",
    "SocialMAEForAudioVisualClassification": "modeling_social_mae",
    "SocialMAEForPreTraining": "modeling_social_mae",
    "SocialMAEForRegression": "modeling_social_mae",
    "SocialMAEModel": "modeling_social_mae",
    "SocialMAEPreTrainedModel": "modeling_social_mae",
    "SocialMAEProcessor": "processing_social_mae",
    "SocialMAEVideoProcessor": "video_processing_social_mae",
    "AudioVisualClassificationPipeline": "pipelines",
    "AudioVisualFeatureExtractionPipeline": "pipelines",
    "register_pipelines": "pipelines",
    "recall_at_k": "retrieval",
    "similarity_matrix": "retrieval",
}

if TYPE_CHECKING:
    from .auto import AutoModelForAudioVisualClassification, register_auto_classes
    from .configuration_social_mae import SocialMAEConfig
    from .feature_extraction_social_mae import SocialMAEFeatureExtractor
    from .media import MediaFile
    from .modeling_social_mae import (
        SocialMAEForAudioVisualClassification,
        SocialMAEForPreTraining,
        SocialMAEForRegression,
        SocialMAEModel,
        SocialMAEPreTrainedModel,
    )
    from .pipelines import AudioVisualClassificationPipeline, AudioVisualFeatureExtractionPipeline, register_pipelines
    from .processing_social_mae import SocialMAEProcessor
    from .retrieval import recall_at_k, similarity_matrix
    from .video_processing_social_mae import SocialMAEVideoProcessor


def __getattr__(name: str):
    if name == "__version__":
        from importlib.metadata import version

        return version("social-mae-hf")
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


register_when_transformers_is_used()

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
    "register",
    "register_auto_classes",
    "register_pipelines",
    "similarity_matrix",
]
