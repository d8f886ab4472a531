"""Decoded frames as a video processor takes them: what one video is, the checks on its frames (errors name the
video), and the frame rate or metadata given with them."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import PIL.Image
import torch
from transformers.video_utils import VideoMetadata

from .batching import is_array, per_item
from .errors import InvalidInputError
from .media import is_media_source

__all__ = [
    "channels_last",
    "check_frame_size",
    "check_video_fps",
    "is_single_video",
    "per_item_metadata",
    "validate_frames",
]

MIN_FRAME_SIDE = 16  # a frame smaller than one 16 x 16 model patch is a mistake, not a video


def _is_frame(x) -> bool:
    return isinstance(x, PIL.Image.Image) or (is_array(x) and x.ndim == 3)


def is_single_video(x) -> bool:
    """One video: a media file, decoded frames `(frames, H, W, 3)`, or a list of frames (PIL / `(H, W, 3)`)."""
    if is_media_source(x) or (is_array(x) and x.ndim == 4):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_frame(f) for f in x)


def validate_frames(video, name: str, do_convert_rgb: bool = True):
    """Decoded RGB frames checked (errors name the video `name`); an indexable sequence of `(H, W, 3)` uint8 arrays.

    Channels-first frames `(frames, 3, H, W)` (torch's layout) are turned channels-last; with `do_convert_rgb`,
    PIL frames of another mode (RGBA, L) are converted to RGB."""
    if is_array(video):
        arr = video.detach().cpu().numpy() if isinstance(video, torch.Tensor) else video
        arr = channels_last(arr, 4)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise InvalidInputError(f"{name}: frames must be (frames, height, width, 3), got {arr.shape}")
        if arr.dtype != np.uint8:
            raise InvalidInputError(f"{name}: frames must be uint8 RGB, got dtype {arr.dtype}")
        if arr.shape[0] == 0:
            raise InvalidInputError(f"{name}: the video has 0 frames")
        check_frame_size(arr.shape[2], arr.shape[1], name)
        return arr
    if not isinstance(video, (list, tuple)):
        raise InvalidInputError(f"{name}: unsupported video input of type {type(video).__name__}")
    if len(video) == 0:
        raise InvalidInputError(f"{name}: an empty list of frames; a video needs at least one frame")
    frames = []
    for k, frame in enumerate(video):
        if isinstance(frame, PIL.Image.Image):
            if frame.mode != "RGB" and do_convert_rgb:
                frame = frame.convert("RGB")
            if frame.mode != "RGB":
                raise InvalidInputError(
                    f"{name}: frame {k} is a PIL image in mode {frame.mode}, need RGB (or do_convert_rgb=True)"
                )
            frame = np.asarray(frame)
        elif is_array(frame):
            frame = frame.detach().cpu().numpy() if isinstance(frame, torch.Tensor) else frame
            frame = channels_last(frame, 3)
            if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
                raise InvalidInputError(
                    f"{name}: frame {k} must be (height, width, 3) uint8, got {frame.shape} {frame.dtype}"
                )
        else:
            raise InvalidInputError(f"{name}: frame {k} is a {type(frame).__name__}, not an image or an array")
        if frames and frame.shape != frames[0].shape:
            raise InvalidInputError(f"{name}: frame {k} is {frame.shape}, frame 0 is {frames[0].shape}")
        frames.append(frame)
    check_frame_size(frames[0].shape[1], frames[0].shape[0], name)
    return frames


def channels_last(frames: np.ndarray, ndim: int) -> np.ndarray:
    """Frames with 3 channels first (`(..., 3, H, W)`, torch's layout) as channels-last; others as they are."""
    if frames.ndim == ndim and frames.shape[-1] != 3 and frames.shape[-3] == 3:
        return np.moveaxis(frames, -3, -1)
    return frames


def check_frame_size(width: int, height: int, name: str) -> None:
    if width < MIN_FRAME_SIDE or height < MIN_FRAME_SIDE:
        raise InvalidInputError(f"{name}: frames are {width}x{height}; need at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}")


def check_video_fps(video_fps, batch: int) -> list[float | None]:
    """One validated frame rate per item (None where not given: media files have their own)."""
    if video_fps is None:
        return [None] * batch
    values = per_item(video_fps, batch, "video_fps")
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v > 0:
            raise InvalidInputError(f"`video_fps` must be a positive number, got {v!r}")
        if not math.isfinite(v):
            raise InvalidInputError(f"`video_fps` must be a finite number of frames per second, got {v!r}")
    return [None if v is None else float(v) for v in values]


def per_item_metadata(video_metadata, video_fps, batch: int) -> list[dict | None]:
    """One metadata mapping (with at least `fps`) or None per item, from `video_metadata` or `video_fps`."""
    if video_metadata is not None and video_fps is not None:
        raise InvalidInputError("give `video_metadata` or `video_fps`, not both")
    if video_metadata is None:
        return [None if fps is None else {"fps": fps} for fps in check_video_fps(video_fps, batch)]
    entries = per_item(video_metadata, batch, "video_metadata")
    out = []
    for entry in entries:
        if isinstance(entry, (list, tuple)) and len(entry) == 1:
            entry = entry[0]  # transformers nests each video's metadata in a list of its own
        if isinstance(entry, VideoMetadata):
            entry = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry)}
        meta = dict(entry) if entry is not None else None
        if meta is not None and meta.get("fps") is not None:
            meta["fps"] = check_video_fps(meta["fps"], 1)[0]
        out.append(meta)
    return out
