"""Time ranges of media in seconds (exact `Fraction`s), validated with the input named in errors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .errors import InvalidInputError

__all__ = ["describe_range", "frames_in_range", "parse_time_range", "sample_range", "stream_length", "stream_timing"]


def stream_timing(stream) -> tuple[int, Fraction]:
    """The stream's first timestamp (in its time base; 0 when unknown) and its time base."""
    return (stream.start_time if stream.start_time is not None else 0), Fraction(stream.time_base)


def stream_length(stream) -> Fraction | None:
    """Seconds the stream states it lasts (its duration times its time base); None when it states none."""
    return Fraction(stream.duration) * Fraction(stream.time_base) if stream.duration and stream.time_base else None


def parse_time_range(start_s, end_s, name: str) -> tuple[Fraction, Fraction | None]:
    """A validated `[start, end)` in seconds (start 0 and end None, the end of the media, when not given);
    `name` names the input in errors."""
    start = _seconds(start_s, "start_s", name) if start_s is not None else Fraction(0)
    end = _seconds(end_s, "end_s", name) if end_s is not None else None
    if end is not None and end <= start:
        raise InvalidInputError(f"{name}: end_s ({float(end)}) must be after start_s ({float(start)})")
    return start, end


def sample_range(start_s, end_s, sample_rate: int, name: str) -> tuple[int, int | None]:
    """[first, last) sample indices of a time range; validated, with the input named in errors."""
    start, end = parse_time_range(start_s, end_s, name)
    return round(start * sample_rate), None if end is None else round(end * sample_rate)


def describe_range(time_range) -> str:
    start, end = time_range
    return f"{float(start):g} s to " + ("the end" if end is None else f"{float(end):g} s")


def frames_in_range(num_frames: int, fps: Fraction, time_range, name: str) -> tuple[int, int]:
    """First index and count of the frames shown in [start, end): frame i is shown at i / fps."""
    if time_range is None:
        return 0, num_frames
    start, end = time_range
    first = math.ceil(start * fps)
    stop = num_frames if end is None else min(num_frames, math.ceil(end * fps))
    if stop <= first:
        raise InvalidInputError(
            f"{name}: no video frame from {describe_range(time_range)} (the video has {num_frames} frames at "
            f"{float(fps):g} fps, {num_frames / float(fps):.2f} s)"
        )
    return first, stop - first


def _seconds(value, what: str, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction, np.integer, np.floating)):
        raise InvalidInputError(f"{name}: `{what}` must be a number of seconds, got {value!r}")
    if not np.isfinite(float(value)) or value < 0:
        raise InvalidInputError(f"{name}: `{what}` must be a finite number of seconds >= 0, got {value!r}")
    if isinstance(value, Fraction):
        return value
    return Fraction(int(value)) if isinstance(value, (int, np.integer)) else Fraction(float(value))
