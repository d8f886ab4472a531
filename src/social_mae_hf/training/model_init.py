"""The model and processor a training run starts from.

From a converted checkpoint folder or Hub id (`model_name_or_path`), a fresh model of a preset or config
(`config_name`), or a single-frame CAV-MAE checkpoint inflated into a multi-frame model. Every weight that is
not loaded is reported, and a shape mismatch outside the task head is an error rather than a silent re-init.
The processor is the checkpoint's own (a checkpoint without one is an error, as everywhere: `loading.load_processor`),
or, for a fresh model, the family preset sized to its config.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..configuration_social_mae import SocialMAEConfig
from ..loading import check_processor_matches, load_processor, with_face_crop
from ..processing_social_mae import SocialMAEProcessor
from ..video_processing_social_mae import SocialMAEVideoProcessor
from .inflation import VIDEO_INIT_CHOICES, initialise_from_single_frame
from .optimization import freeze_backbone as freeze_all_but_head
from .optimization import is_head_parameter
from .unused_parameters import freeze_unused_parameters

__all__ = ["CONFIG_PRESETS", "LoadedModel", "fresh_config", "load_model_and_processor", "parse_config_overrides"]

logger = logging.getLogger(__name__)

CONFIG_PRESETS = {"social-mae": SocialMAEConfig.social_mae, "cav-mae": SocialMAEConfig.cav_mae}
_GEOMETRY = ("num_frames", "tubelet_size")


@dataclass
class LoadedModel:
    model: Any
    processor: SocialMAEProcessor
    # What happened to the weights: "inflated" / "reinitialised" / "kept_initialisation" / "mismatched" names.
    report: dict[str, list[str]] = field(default_factory=dict)


def parse_config_overrides(config: SocialMAEConfig, overrides: str | None) -> dict[str, Any]:
    """`"hidden_size=64,num_frames=8,norm_pix_loss=true"` -> typed values, checked against the config's fields
    (transformers' `update_from_string`, on a copy)."""
    if not overrides:
        return {}
    updated, values = copy.deepcopy(config), {}
    for part in overrides.split(","):
        key, equals, value = (s.strip() for s in part.partition("="))
        if not equals:
            raise ValueError(f"--config_overrides: {part!r} is not key=value (in {overrides!r})")
        try:
            updated.update_from_string(f"{key}={value}")
        except (ValueError, TypeError) as error:
            raise ValueError(f"--config_overrides {key}={value!r}: {error}") from None
        values[key] = getattr(updated, key)
    return values


def _updated(config: SocialMAEConfig, values: Mapping[str, Any]) -> SocialMAEConfig:
    data = config.to_dict()
    for key in ("model_type", "transformers_version"):
        data.pop(key, None)
    data.update(values)
    new = SocialMAEConfig(**data)
    new.validate_architecture()
    return new


def fresh_config(
    config_name: str, config_overrides: str | None = None, updates: Mapping[str, Any] | None = None, **hub_kwargs
) -> SocialMAEConfig:
    """The config of a model trained from scratch: a preset (`"social-mae"`, `"cav-mae"`) or a config folder /
    Hub id, with `--config_overrides` and the task's `updates` applied."""
    if config_name in CONFIG_PRESETS:
        base = CONFIG_PRESETS[config_name]()
    else:
        base = SocialMAEConfig.from_pretrained(config_name, **hub_kwargs)
    return _updated(base, {**parse_config_overrides(base, config_overrides), **(updates or {})})


def _load_processor(config: SocialMAEConfig, processor_name: str | None, model_name_or_path: str | None, hub_kwargs):
    """`processor_name`'s processor, else the checkpoint's own, else (a fresh model) the preset sized to `config`."""
    name = processor_name or model_name_or_path
    if name is None:
        return SocialMAEProcessor.for_model_config(config)
    return load_processor(name, **hub_kwargs)


def load_model_and_processor(
    model_class, *, face_crop=None, modality: str | None = None, freeze_backbone: bool = False, **kwargs
) -> LoadedModel:
    """[`load_checkpoint`], then the face crop set on the processor (so that the trainer saves it with the model)
    and, for a `modality` (`"audiovisual"` in pretraining), what it never uses frozen, so that DDP needs no
    unused-parameter search; `freeze_backbone`: everything but the head frozen (a linear probe)."""
    loaded = load_checkpoint(model_class, **kwargs)
    if freeze_backbone:
        logger.info("Linear probe: froze %d backbone tensors", freeze_all_but_head(loaded.model))
    loaded.processor = with_face_crop(loaded.processor, face_crop)
    if loaded.processor.video_processor.face_crop is not None:
        logger.info("Face crop: %s", loaded.processor.video_processor.face_crop)
    if modality is not None:
        unused = freeze_unused_parameters(loaded.model, modality)
        if unused:
            logger.info("Froze %d tensors that modality %r never uses: %s", len(unused), modality, unused)
    return loaded


def load_checkpoint(
    model_class,
    *,
    model_name_or_path: str | None = None,
    config_name: str | None = None,
    config_overrides: str | None = None,
    processor_name: str | None = None,
    video_init: str | None = None,
    config_updates: Mapping[str, Any] | None = None,
    attn_implementation: str | None = None,
    cache_dir: str | None = None,
    revision: str = "main",
    token: str | None = None,
) -> LoadedModel:
    """Build `model_class` (a Social-MAE model class) and its processor.

    Args:
        model_name_or_path: Converted checkpoint folder or Hub id to start from.
        config_name: Without weights: a preset (`"social-mae"`, `"cav-mae"`) or a config folder / Hub id.
        config_overrides: `"key=value,..."` applied to the config (e.g. a smaller model, other frames).
        processor_name: Processor folder / Hub id; default: the checkpoint's own (required then), or for a fresh
            model the family preset sized to its config.
        video_init: Required when the checkpoint has one frame and the config asks for more: `"inflate"` or
            `"reinit"` (see `inflation.py`).
        config_updates: Task settings (num_labels, id2label, label2id, problem_type, loss weights...).
        attn_implementation: `"eager"` or `"sdpa"` (default: transformers' choice).
    """
    hub_kwargs = {"cache_dir": cache_dir, "revision": revision, "token": token}
    updates = dict(config_updates or {})
    model_kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    if model_name_or_path is None:
        if config_name is None:
            raise ValueError("give --model_name_or_path (weights to start from) or --config_name (a fresh model)")
        if video_init is not None:
            raise ValueError("--video_init needs a single-frame checkpoint (--model_name_or_path) to start from")
        config = fresh_config(config_name, config_overrides, updates, **hub_kwargs)
        model = model_class._from_config(config, **model_kwargs)
        processor = _load_processor(config, processor_name, None, hub_kwargs)
        check_processor_matches(processor, config, processor_name or config_name)
        return LoadedModel(model, processor, {"kept_initialisation": [n for n, _ in model.named_parameters()]})

    if config_name is not None:
        raise ValueError("give either --model_name_or_path or --config_name, not both (use --config_overrides)")
    source_config = SocialMAEConfig.from_pretrained(model_name_or_path, **hub_kwargs)
    overrides = parse_config_overrides(source_config, config_overrides)
    geometry_changes = any(key in overrides and overrides[key] != getattr(source_config, key) for key in _GEOMETRY)
    if not geometry_changes:
        if video_init is not None:
            raise ValueError(
                "--video_init applies only when starting a multi-frame model from a single-frame checkpoint "
                "(set num_frames / tubelet_size with --config_overrides)"
            )
        config = _updated(source_config, {**overrides, **updates})
        model, info = model_class.from_pretrained(
            model_name_or_path,
            config=config,
            ignore_mismatched_sizes=True,
            output_loading_info=True,
            **hub_kwargs,
            **model_kwargs,
        )
        mismatched = sorted(name for name, *_ in info["mismatched_keys"])
        outside_head = [name for name in mismatched if not is_head_parameter(name)]
        if outside_head:
            raise ValueError(
                f"{model_name_or_path}: weights {outside_head} do not fit the requested config; a config override "
                "changed their shape (only the task head may be re-initialised)"
            )
        missing = sorted(info["missing_keys"])
        if missing:
            logger.warning("Initialised %d tensors absent from %s: %s", len(missing), model_name_or_path, missing)
        processor = _load_processor(config, processor_name, model_name_or_path, hub_kwargs)
        check_processor_matches(processor, config, processor_name or model_name_or_path)
        return LoadedModel(model, processor, {"mismatched": mismatched, "kept_initialisation": missing})

    # A single-frame checkpoint into a multi-frame model.
    if video_init not in VIDEO_INIT_CHOICES:
        raise ValueError(
            f"{model_name_or_path} has {source_config.num_frames} frame(s) (tubelet {source_config.tubelet_size}) and "
            f"the config asks for {overrides.get('num_frames', source_config.num_frames)} (tubelet "
            f"{overrides.get('tubelet_size', source_config.tubelet_size)}): pass --video_init inflate (keep the "
            "single-frame video weights, repeated over time) or --video_init reinit (fresh video embedding, as the "
            "Social-MAE paper)"
        )
    overrides.setdefault("legacy_video_target_order", False)
    config = _updated(source_config, {**overrides, **updates})
    source_updates = {k: v for k, v in updates.items() if k not in _GEOMETRY}
    source = model_class.from_pretrained(
        model_name_or_path,
        config=_updated(source_config, source_updates),
        ignore_mismatched_sizes=True,
        **hub_kwargs,
    )
    model = model_class._from_config(config, **model_kwargs)
    report = initialise_from_single_frame(model, source.state_dict(), source.config, video_init)
    del source
    base = _load_processor(source_config, processor_name, model_name_or_path, hub_kwargs)
    # Keep the checkpoint's colour order, resize and audio statistics (what its weights expect); take
    # Social-MAE's temporal window for the frames.
    video = SocialMAEVideoProcessor.from_dict(
        base.video_processor.to_dict(), num_frames=config.num_frames, frame_sampling="window"
    )
    processor = SocialMAEProcessor(base.feature_extractor, video)
    check_processor_matches(processor, config, processor_name or model_name_or_path)
    logger.info(
        "Started %d-frame model from single-frame %s (%s): %d tensors inflated, %d re-initialised",
        config.num_frames,
        model_name_or_path,
        video_init,
        len(report["inflated"]),
        len(report["reinitialised"]),
    )
    return LoadedModel(model, processor, report)
