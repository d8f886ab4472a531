"""transformers pipelines for Social-MAE / CAV-MAE, registered when `social_mae_hf` is imported.

    pipe = pipeline("audio-visual-classification", model="org/social-mae-cremad")
    pipe("interview.mp4")                                     # [{"label": ..., "score": ...}, ...]
    pipe("interview.mp4", chunk_length_s=4, stride_length_s=2)  # [{"start", "end", "scores": [...]}, ...]
    pipeline("audio-visual-feature-extraction", model=...)("clip.mp4")  # audio / video / fused embeddings

`inputs.py` parses what a pipeline accepts and plans windows; `base.py` runs the shared steps; one module per task.
"""

from __future__ import annotations

from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY

from ..auto import AutoModelForAudioVisualClassification
from ..loading import load_model
from .base import CLASSIFICATION_TASK, FEATURE_EXTRACTION_TASK
from .classification import AudioVisualClassificationPipeline
from .feature_extraction import EMBEDDING_KEYS, AudioVisualFeatureExtractionPipeline

__all__ = [
    "CLASSIFICATION_TASK",
    "EMBEDDING_KEYS",
    "FEATURE_EXTRACTION_TASK",
    "AudioVisualClassificationPipeline",
    "AudioVisualFeatureExtractionPipeline",
    "register_pipelines",
]


# What `pipeline(task, model="<name>")` loads


class _HeadModelForPipeline(AutoModelForAudioVisualClassification):
    """A saved classification / regression model; a saved model without a trained head is refused, naming it."""

    @classmethod
    def from_pretrained(cls, name, **kwargs):
        return load_model(name, AutoModelForAudioVisualClassification, needs="head", **kwargs)


class _EncoderForPipeline(AutoModel):
    """The encoder of any saved Social-MAE / CAV-MAE model."""

    @classmethod
    def from_pretrained(cls, name, **kwargs):
        return load_model(name, AutoModel, **kwargs)


class _NoDefaultModel(dict):
    """The registry's `default` for our tasks: `pipeline(task)` with no model asks it for `"model"`, and there is
    no public checkpoint to load by default, so it says what to give (instead of transformers' bare KeyError)."""

    def __init__(self, task: str):
        super().__init__(model=None)
        self.task = task

    def __getitem__(self, key):
        raise ValueError(
            f"{self.task!r} has no default model: pass model= (a folder made by `social-mae convert`, or a Hub id)"
        )


def register_pipelines() -> None:
    """Add both tasks to transformers' pipeline registry (idempotent)."""
    tasks = (
        (CLASSIFICATION_TASK, AudioVisualClassificationPipeline, _HeadModelForPipeline),
        (FEATURE_EXTRACTION_TASK, AudioVisualFeatureExtractionPipeline, _EncoderForPipeline),
    )
    for task, pipeline_class, model_class in tasks:
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is not pipeline_class:
            PIPELINE_REGISTRY.register_pipeline(
                task,
                pipeline_class=pipeline_class,
                pt_model=model_class,
                default=_NoDefaultModel(task),
                type="multimodal",
            )
