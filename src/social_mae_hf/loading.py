"""Loading a model and its processor for a job (pipelines, command line, training), with errors that name the model
and say what to do.

The checks here are the ones transformers cannot make: whether a saved model has the head a job needs (a
pretraining checkpoint loaded for classification would get a random head, with only a warning), whether the
folder has the processor config that fixes the model's inputs, and which file is corrupt.
"""

from __future__ import annotations

from safetensors import SafetensorError
from transformers import AutoConfig
from transformers.utils import FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME, cached_file

from .errors import ModelFilesError
from .processing_social_mae import SocialMAEProcessor

__all__ = [
    "HEAD_ARCHITECTURES",
    "check_processor_matches",
    "hub_kwargs",
    "load_config",
    "load_processor",
    "load_weights",
    "processor_mismatches",
    "require_head",
    "saved_architecture",
]

HEAD_ARCHITECTURES = ("SocialMAEForAudioVisualClassification", "SocialMAEForRegression")
MODEL_TYPE = "social-mae"
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "revision", "token", "subfolder")


def hub_kwargs(kwargs: dict) -> dict:
    """The `from_pretrained` keyword arguments that locate files (not the ones that configure a model)."""
    return {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}


def load_config(name, **kwargs):
    """The model's config; refuses a config of another model type, naming it."""
    config = AutoConfig.from_pretrained(name, **hub_kwargs(kwargs))
    if getattr(config, "model_type", None) != MODEL_TYPE:
        raise ModelFilesError(
            f"{name}: is a {getattr(config, 'model_type', '?')!r} model, not a Social-MAE / CAV-MAE ({MODEL_TYPE!r})"
        )
    return config


def saved_architecture(config) -> str | None:
    architectures = getattr(config, "architectures", None) or []
    return architectures[0] if architectures else None


def require_head(config, name) -> None:
    """Refuse a saved model without a trained classification / regression head."""
    architecture = saved_architecture(config)
    if architecture is not None and architecture not in HEAD_ARCHITECTURES:
        raise ModelFilesError(
            f"{name}: was saved as {architecture}, which has no trained classification or regression head "
            "(loading it for classification would give a randomly initialised head). Use the "
            "'audio-visual-feature-extraction' pipeline (or `social-mae embed`) for its embeddings, or fine-tune it "
            "first."
        )


def load_weights(load, name, *args, **kwargs):
    """`load(name, ...)` (a `from_pretrained`), turning an unreadable safetensors file into an error naming it."""
    try:
        return load(name, *args, **kwargs)
    except SafetensorError as err:
        raise ModelFilesError(
            f"{name}: its model.safetensors is not a valid safetensors file ({err}); download or convert it again"
        ) from err


def load_processor(name, **kwargs) -> SocialMAEProcessor:
    """The folder's own processor (its `processor_config.json`, or the `preprocessor_config.json` of folders saved
    before the processor split). A folder without one is an error, everywhere in this package: the settings that
    turn media into this model's inputs are never guessed."""
    location = hub_kwargs(kwargs)
    found = [
        cached_file(name, filename, _raise_exceptions_for_missing_entries=False, **location)
        for filename in (PROCESSOR_NAME, FEATURE_EXTRACTOR_NAME)
    ]
    if not any(found):
        raise ModelFilesError(
            f"{name}: has no {PROCESSOR_NAME} (nor a {FEATURE_EXTRACTOR_NAME}), which fixes how media are turned into "
            "this model's inputs. Save one next to the weights (`SocialMAEProcessor.for_model_config(config)"
            ".save_pretrained(...)` gives the family's preset sized to the model; `social-mae convert` writes it), or "
            "pass the processor in (`processor=` to the pipelines)."
        )
    return SocialMAEProcessor.from_pretrained(name, **location)


def processor_mismatches(processor, config) -> list[str]:
    """Each size where the processor's outputs do not fit the model, both values named; empty when they fit."""
    audio, video = processor.feature_extractor, processor.video_processor
    image = (config.image_size, config.image_size)
    pairs = [
        ("max_length", audio.max_length, "audio_length", config.audio_length),
        ("num_mel_bins", audio.num_mel_bins, "num_mel_bins", config.num_mel_bins),
        ("num_frames", video.num_frames, "num_frames", config.num_frames),
        ("frame size", video.output_size, "image_size", image),
    ]
    return [f"{ours}={value} but the model's {theirs}={want}" for ours, value, theirs, want in pairs if value != want]


def check_processor_matches(processor, config, name) -> None:
    """Refuse a processor whose outputs the model cannot take, naming both sizes."""
    wrong = processor_mismatches(processor, config)
    if wrong:
        raise ModelFilesError(f"{name}: the processor does not fit the model: " + "; ".join(wrong))
