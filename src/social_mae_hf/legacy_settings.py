"""Reading the settings file of folders saved before the processor split.

Those folders hold one `preprocessor_config.json` with every setting of the former all-in-one
`SocialMAEFeatureExtractor`, audio and video together, under their former names. Loading it with
`AutoFeatureExtractor` gives the feature extractor its audio settings; `AutoVideoProcessor` and `AutoProcessor`
give the video processor the video settings (transformers' video processors read `preprocessor_config.json`
when a folder has no video processor file).
"""

from __future__ import annotations

__all__ = ["audio_settings", "is_legacy", "video_settings"]

# Former name -> feature extractor name (None: same name).
LEGACY_AUDIO_KEYS = {
    "sampling_rate": None,
    "num_mel_bins": None,
    "max_length": None,
    "do_normalize_audio": "do_normalize",
    "audio_mean": "mean",
    "audio_std": "std",
    "audio_channel_mix": None,
}
LEGACY_VIDEO_KEYS = (
    "num_frames",
    "frame_sampling",
    "sample_fps",
    "window_seconds",
    "spread_slots",
    "spread_seconds",
    "image_size",
    "resize_mode",
    "resample",
    "antialias",
    "channel_order",
    "do_normalize_video",
    "image_mean",
    "image_std",
)
# Keys only the former file has: their presence marks a legacy file.
_MARKERS = ("do_normalize_audio", "do_normalize_video", "audio_mean", "resize_mode", "sample_fps", "image_size")
_RESAMPLE = {"bicubic": 3, "bilinear": 2}  # PIL.Image.Resampling values


def is_legacy(settings: dict) -> bool:
    return any(key in settings for key in _MARKERS)


def audio_settings(settings: dict) -> dict:
    """The feature extractor's settings from a legacy file: the video settings dropped, audio ones renamed (its
    `auto_map` named the feature extractor's module, and stays)."""
    out = {k: v for k, v in settings.items() if k not in LEGACY_VIDEO_KEYS and k not in LEGACY_AUDIO_KEYS}
    for old, new in LEGACY_AUDIO_KEYS.items():
        if old in settings:
            out[new or old] = settings[old]
    return out


def video_settings(settings: dict) -> dict:
    """The video processor's settings from a legacy file, in transformers' names where one exists."""
    out = {k: v for k, v in settings.items() if k not in LEGACY_VIDEO_KEYS and k not in LEGACY_AUDIO_KEYS}
    out.pop("feature_extractor_type", None)
    out.pop("auto_map", None)  # it named the feature extractor's module, not the video processor's
    renames = {"sample_fps": "fps", "do_normalize_video": "do_normalize"}
    for key in LEGACY_VIDEO_KEYS:
        if key in settings and key not in ("image_size", "resize_mode", "resample"):
            out[renames.get(key, key)] = settings[key]
    if "resample" in settings:
        resample = settings["resample"]
        out["resample"] = _RESAMPLE.get(resample, resample)
    size = settings.get("image_size", 224)
    if settings.get("resize_mode", "stretch") == "stretch":
        out.update(size={"height": size, "width": size}, do_center_crop=False)
    else:
        out.update(size={"shortest_edge": size}, do_center_crop=True, crop_size={"height": size, "width": size})
    return out
