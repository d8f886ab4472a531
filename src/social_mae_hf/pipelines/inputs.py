"""What the audio-visual pipelines accept, turned into processor arguments, and how a long recording is
cut into windows.

One pipeline input is a media file (path or bytes: a video, whose audio track is used too, or an audio file),
or a dict of raw parts: `{"video": frames or media, "video_fps": fps, "audio": waveform or media,
"sampling_rate": Hz}` with at least one of `video` / `audio`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import InvalidInputError
from ..media import MediaFile, describe_source, is_media_source

__all__ = ["AudioVisualInput", "parse_input", "plan_windows"]

DICT_KEYS = ("video", "video_fps", "audio", "sampling_rate")
# Streams of one file commonly end a few codec frames apart; past this, windows leave part of the longer one out.
LENGTH_MISMATCH_S = 0.25


@dataclass
class AudioVisualInput:
    """One input, ready for the processor (`processor_kwargs`); `lengths`: seconds of its audio and its video,
    where known (a file's audio track may stop before its video, or run on after it).

    Its media files are held open (`MediaFile`), so that measuring them and every window read them through one
    opening each; `close()` closes them."""

    name: str
    videos: Any = None
    audio: Any = None
    sampling_rate: int | None = None
    video_fps: float | None = None
    lengths: dict[str, float] = field(default_factory=dict)

    def duration(self, modalities: str | Sequence[str] | None = None) -> float | None:
        """Seconds that windows may span: where every modality read is there (the shortest of their lengths).
        None if unknown."""
        read = self._lengths_read(modalities)
        return min(read.values()) if read else None

    def uncovered(self, modalities: str | Sequence[str] | None = None) -> str | None:
        """What windows over `duration(modalities)` leave out of the longer stream, as a sentence; None if nothing."""
        read = self._lengths_read(modalities)
        if len(read) < 2:
            return None
        short, long = sorted(read, key=read.get)
        if read[long] - read[short] <= LENGTH_MISMATCH_S:
            return None
        return (
            f"{self.name}: its {short} lasts {read[short]:g} s and its {long} {read[long]:g} s; the windows cover "
            f"the first {read[short]:g} s, where both are (modalities={long!r} covers all of its {long})"
        )

    def _lengths_read(self, modalities) -> dict[str, float]:
        """The lengths of the modalities read: `modalities`, or all the input has when None (as the processor)."""
        chosen = self.lengths if modalities is None else (modalities,) if isinstance(modalities, str) else modalities
        return {m: self.lengths[m] for m in chosen if m in self.lengths}

    def close(self) -> None:
        for part in (self.videos, self.audio):
            if isinstance(part, MediaFile):
                part.close()

    def processor_kwargs(self) -> dict:
        rates = {"sampling_rate": self.sampling_rate, "video_fps": self.video_fps}
        return {"videos": self.videos, "audio": self.audio, **{k: v for k, v in rates.items() if v is not None}}


def parse_input(x, audio_stream: int | None = None) -> AudioVisualInput:
    """Validate one pipeline input; media files are opened once to learn their streams and lengths (the audio
    track's: `audio_stream`'s)."""
    if is_media_source(x):
        return _media_input(x, audio_stream)
    if isinstance(x, dict):
        return _dict_input(x, audio_stream)
    hint = ""
    if isinstance(x, (np.ndarray, torch.Tensor)):
        hint = (
            ': pass raw audio as {"audio": waveform, "sampling_rate": Hz} and decoded frames as '
            '{"video": frames, "video_fps": fps}'
        )
    raise InvalidInputError(
        f"unsupported pipeline input of type {type(x).__name__}; expected a media file path, its bytes, or a dict "
        f"with keys among {DICT_KEYS}{hint}"
    )


def _media_input(source, audio_stream) -> AudioVisualInput:
    media = MediaFile(source, audio_stream=audio_stream)
    if media.has_video:
        return AudioVisualInput(name=media.name, videos=media, lengths=media.stream_durations())
    # An audio file: the model runs on its audio alone.
    return AudioVisualInput(name=media.name, audio=media, lengths=media.stream_durations())


def _dict_input(x: dict, audio_stream) -> AudioVisualInput:
    unknown = sorted(set(x) - set(DICT_KEYS))
    if unknown:
        raise InvalidInputError(f"unknown key(s) {unknown} in a pipeline input dict; allowed keys: {DICT_KEYS}")
    video, audio = x.get("video"), x.get("audio")
    if video is None and audio is None:
        raise InvalidInputError('a pipeline input dict needs "video", "audio" or both')
    if video is not None and not is_media_source(video) and x.get("video_fps") is None:
        raise InvalidInputError('decoded "video" frames need "video_fps" (their frame rate) in the same dict')
    if audio is not None and not is_media_source(audio) and x.get("sampling_rate") is None:
        raise InvalidInputError('a raw "audio" waveform needs "sampling_rate" (Hz) in the same dict')
    parts = [
        describe_source(v) if is_media_source(v) else f"raw {k}"
        for k, v in (("video", video), ("audio", audio))
        if v is not None
    ]
    item = AudioVisualInput(name=" + ".join(parts), sampling_rate=x.get("sampling_rate"), video_fps=x.get("video_fps"))
    try:  # a video file without an `audio` part is also its audio source, as in the processor
        item.videos = _opened(video, None if audio is not None else audio_stream)
        item.audio = _opened(audio, audio_stream)
        item.lengths = _dict_lengths(item.videos, item.audio, x.get("video_fps"), x.get("sampling_rate"))
    except BaseException:
        item.close()
        raise
    return item


def _opened(part, audio_stream):
    """A media file part opened (kept open for the windows); other parts as given."""
    return MediaFile(part, audio_stream=audio_stream) if part is not None and is_media_source(part) else part


def _dict_lengths(video, audio, video_fps, sampling_rate) -> dict[str, float]:
    """Seconds of each part; a video file without an `audio` part is also its audio source, as in the processor."""
    lengths = {}
    if isinstance(video, MediaFile):
        found = video.stream_durations()
        lengths.update(found if audio is None else {k: v for k, v in found.items() if k == "video"})
    elif video is not None and video_fps:
        lengths["video"] = len(video) / float(video_fps)
    if isinstance(audio, MediaFile):
        lengths.update({k: v for k, v in audio.stream_durations().items() if k == "audio"})
    elif audio is not None and sampling_rate:
        samples = audio.shape[-1] if hasattr(audio, "shape") else len(audio)
        lengths["audio"] = samples / float(sampling_rate)
    return lengths


def plan_windows(duration: float | None, chunk_length_s: float, stride_length_s: float | None, name: str):
    """[(start, end)] seconds: windows of `chunk_length_s` starting every `stride_length_s` (default: back to back).

    Every window is a full `chunk_length_s` long: the last one ends at the end of the recording and may overlap
    the one before. A recording shorter than one window is one window, the whole recording.
    """
    for what, value in (("chunk_length_s", chunk_length_s), ("stride_length_s", stride_length_s)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ValueError(f"`{what}` must be a positive number of seconds, got {value!r}")
    stride = chunk_length_s if stride_length_s is None else stride_length_s
    if duration is None or not math.isfinite(duration) or duration <= 0:
        raise InvalidInputError(f"{name}: its length is unknown, so it cannot be cut into windows")
    if duration <= chunk_length_s:
        return [(0.0, float(duration))]
    windows = []
    k = 0
    while True:
        start = k * stride
        if start + chunk_length_s >= duration:
            windows.append((float(duration - chunk_length_s), float(duration)))
            break
        windows.append((float(start), float(start + chunk_length_s)))
        k += 1
    return windows
