"""Loading a model and its processor for a job (pipelines, command line, training), with errors that name the model
and say what to do. The one way in for the command line: `load_model` and `load_processor`.

The checks here are the ones transformers cannot make: whether a folder is one of ours before anything can import
its code (`auto_map`), whether a saved model has the head a job needs (a pretraining checkpoint loaded for
classification would get a random head, with only a warning), whether the folder has the processor config that
fixes the model's inputs, and which file is corrupt.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from huggingface_hub.errors import HFValidationError, StrictDataclassError
from huggingface_hub.utils import validate_repo_id
from safetensors import SafetensorError
from transformers import AutoConfig, PretrainedConfig
from transformers.utils import FEATURE_EXTRACTOR_NAME, PROCESSOR_NAME, cached_file

from .errors import ModelFilesError
from .face_crop import FaceCropSettings, face_crop_from_options, face_cropper
from .processing_social_mae import SocialMAEProcessor

__all__ = [
    "HEAD_ARCHITECTURES",
    "check_processor_matches",
    "face_crop_from_flags",
    "hub_kwargs",
    "load_config",
    "load_model",
    "load_processor",
    "load_weights",
    "require_head",
    "saved_architecture",
    "with_face_crop",
]

HEAD_ARCHITECTURES = ("SocialMAEForAudioVisualClassification", "SocialMAEForRegression")
MODEL_TYPE = "social-mae"
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "revision", "token", "subfolder")


def hub_kwargs(kwargs: dict) -> dict:
    """The `from_pretrained` keyword arguments that locate files (not the ones that configure a model)."""
    return {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}


_CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".tar")


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def check_model_location(name, subfolder: str | None = None) -> None:
    """Refuse, without asking the Hub, a model name that is a local path but not a saved model folder.

    A name is local when it exists, starts with `./`, `../`, `/` or `~`, or is not a valid Hub id; a valid
    `namespace/name` whose `namespace` is a local folder, or a plain name close to a model folder here, is a typo
    of a local path too. Otherwise it is a Hub id, left to transformers.
    """
    text = os.fspath(name)
    path = Path(text).expanduser()
    if path.is_dir():
        if _is_model_folder(path / (subfolder or "")):
            return
        checkpoints = sorted(p.name for p in path.iterdir() if p.suffix in _CHECKPOINT_SUFFIXES)
        hint = f"; it holds {checkpoints[0]}: convert it first with `social-mae convert`" if checkpoints else ""
        raise ModelFilesError(f"{text}: is a folder without config.json, not a saved model{hint}")
    if path.is_file():
        if path.suffix in _CHECKPOINT_SUFFIXES:
            raise ModelFilesError(
                f"{text}: is a checkpoint file, not a model folder. An original Social-MAE / CAV-MAE checkpoint is "
                f"converted once with `social-mae convert {text} FOLDER`; then give FOLDER."
            )
        if path.suffix == ".safetensors" and _is_model_folder(path.parent):
            raise ModelFilesError(f"{text}: is the weights file; give its folder, {path.parent}")
        raise ModelFilesError(f"{text}: is a file, not a saved model folder or a Hub id")
    try:  # not a Hub id (huggingface_hub's rule: `./x`, `/x`, `~/x`, `a\\b`, `a--b` are not): a local path
        validate_repo_id(text)
        local = False
    except HFValidationError:
        local = True
    namespace_is_folder = False
    if not local and "/" in text and Path(text.split("/")[0]).expanduser().is_dir():
        local = namespace_is_folder = True  # `models/cremad` with a local `models/` folder
    parent = path.parent
    siblings = [p.name for p in parent.iterdir() if p.is_dir() and _is_model_folder(p)] if parent.is_dir() else []
    close = difflib.get_close_matches(path.name, siblings, n=1, cutoff=0.8)
    if not local and "/" not in text and close:
        local = True  # `social-mae-cremd` next to the model folder `social-mae-cremad`
    if local:
        hint = f"; did you mean {parent / close[0]}?" if close else ""
        if namespace_is_folder and not close:
            # e.g. the Hub id `social-mae-hf/...` run from the parent of a clone named `social-mae-hf`
            hint = (
                f" (read as a local path because {text.split('/')[0]}/ is a folder here; for the Hub model of that "
                "name, run from another folder)"
            )
        raise ModelFilesError(f"no model folder {text}{hint}")


def check_model_type(name, **kwargs) -> None:
    """Refuse a folder of another model type, read from its config.json as data: before any Auto class is asked,
    which would offer to run (or with `trust_remote_code`, run) the code its `auto_map` names."""
    check_model_location(name, kwargs.get("subfolder"))
    values, _ = PretrainedConfig.get_config_dict(name, **hub_kwargs(kwargs))
    model_type = values.get("model_type")
    if model_type != MODEL_TYPE:
        code = "; its code (auto_map) is not run" if "auto_map" in values else ""
        raise ModelFilesError(f"{name}: is a {model_type!r} model, not a Social-MAE / CAV-MAE ({MODEL_TYPE!r}){code}")


def load_config(name, **kwargs):
    """The model's config; refuses a config of another model type, naming it, before any of its code can run.
    `trust_remote_code=True` loads a folder of ours with its own code files instead of the installed package's."""
    check_model_type(name, **kwargs)
    try:
        config = AutoConfig.from_pretrained(
            name, trust_remote_code=bool(kwargs.get("trust_remote_code")), **hub_kwargs(kwargs)
        )
    except StrictDataclassError as error:  # a wrong type or value in config.json
        where = (
            Path(name, kwargs.get("subfolder") or "", "config.json") if Path(name).is_dir() else f"{name} config.json"
        )
        lines = str(error).splitlines()  # "Validation error for field 'x':", "    TypeError: Field 'x' expected ..."
        problem = " ".join(re.sub(r"^\w+Error: ", "", line.strip()) for line in lines[1:] or lines)
        raise ModelFilesError(f"{where}: {problem}; fix the file, or save or convert the model again") from error
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


def load_model(name, auto_class, *, needs: str | None = None, **kwargs):
    """`auto_class.from_pretrained(name, **kwargs)` (`dtype`, `trust_remote_code`, the Hub ones) for a job, after
    the checks: the model type first (see `check_model_type`), then what the job `needs` of the saved model:
    "head" (a trained classification / regression head) or "pretraining" (the decoder)."""
    config = load_config(name, **kwargs)
    if needs == "head":
        require_head(config, name)
    elif needs == "pretraining" and saved_architecture(config) != "SocialMAEForPreTraining":
        raise ModelFilesError(
            f"{name}: was saved as {saved_architecture(config) or '?'}; this needs a pretraining model "
            "(SocialMAEForPreTraining, with its decoder)"
        )
    elif needs not in (None, "head", "pretraining"):
        raise ValueError(f"needs must be None, 'head' or 'pretraining', got {needs!r}")
    return load_weights(auto_class.from_pretrained, name, **kwargs)


def load_processor(name, *, face_crop=None, audio_channel_mix: str | None = None, **kwargs) -> SocialMAEProcessor:
    """The folder's own processor (its `processor_config.json`, or the `preprocessor_config.json` of folders saved
    before the processor split). A folder without one is an error, everywhere in this package: the settings that
    turn media into this model's inputs are never guessed. `face_crop` and `audio_channel_mix` replace the saved
    ones when given (see `with_face_crop`)."""
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
    processor = with_face_crop(SocialMAEProcessor.from_pretrained(name, **location), face_crop)
    if audio_channel_mix is not None:
        processor.feature_extractor.audio_channel_mix = audio_channel_mix
    return processor


def face_crop_from_flags(face_crop: str | None, **options) -> dict | bool | None:
    """Command-line face crop options (`face_crop` a detector name or "none", `face_margin`,
    `face_detector_model`, `face_smoothing`: see `face_crop.face_crop_from_options`), checked, in the one form a
    processor takes: None (not asked: the processor's own setting stays), False (no crop) or the settings dict.
    `face_crop` "default" is the default detector."""
    if face_crop == "default":
        face_crop = FaceCropSettings().detector
    settings = face_crop_from_options(face_crop, **options)
    if face_crop is None:
        return None
    return False if settings is None else settings.to_dict()


def with_face_crop(processor: SocialMAEProcessor, face_crop=None) -> SocialMAEProcessor:
    """`processor` with the face crop `face_crop` asks for: None keeps its own, False (or `"none"`) turns it off,
    True, a detector name or a settings dict (`face_crop_from_flags`'s) sets it. When it crops, the detector is built
    now (and kept for the processor's calls), so that a missing OpenCV or model file fails before any clip is read."""
    if face_crop == "none":
        face_crop = False
    if face_crop is not None:
        processor.video_processor = processor.video_processor.with_settings(face_crop=face_crop or None)
    if processor.video_processor.face_crop is not None:
        try:
            _ = face_cropper(processor.video_processor.face_crop).detector
        except ImportError as error:  # a one-line error, as for the other options
            detector = processor.video_processor.face_crop["detector"]
            raise ValueError(f"face crop with detector {detector!r}: {error}") from None
    return processor


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
