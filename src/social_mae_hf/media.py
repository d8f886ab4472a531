"""Decoding media files with PyAV: one container opening gives both the audio track and video frames.

Video frames are picked by their real presentation timestamps (pts x time_base), so sampling works when
the container does not know its frame count (webm, mkv) and with variable frame rates. Only what is
needed is decoded: we seek to the last key frame before the first wanted time, stop after the last
wanted frame, and convert only the chosen frames to arrays.

Frame rate and frame count are read the way OpenCV's FFmpeg backend reads them (the originals'
decoder): fps = av_guess_frame_rate, count = the container's frame count, else round(duration x fps).
When the frame count and that rate contradict the stream's duration (a variable frame rate: the
guessed rate is then often the finest timestamp step, e.g. 60 for a clip averaging 23 fps), fps is
the average rate count / duration, so that times i / fps span the whole clip.
Colour conversion to RGB/BGR uses libswscale with OpenCV's settings (bicubic flag, BT.601 matrix
whatever the stream's colour tags say), so BGR frames match `cv2.VideoCapture.read()`.

Frames come out as players show them: a display matrix (what phones write; FFmpeg attaches it to
every decoded frame) or, without one, a legacy `rotate` tag (clockwise degrees, as VLC and mpv read
it) turns and mirrors them, and `video_info()` reports the displayed width and height. OpenCV >= 4.5
does the same by default (`CAP_PROP_ORIENTATION_AUTO`).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .audio_reading import (
    CHANNEL_MIXES,
    SILENCE_THRESHOLD_DBFS,
    AudioReading,
    AudioTrack,
    _describe_track,
    is_silent,
    mix_channels,
    peak_dbfs,
)
from .errors import InvalidInputError, MediaDecodeError
from .frame_reading import FrameReading, VideoInfo
from .time_ranges import stream_length, stream_timing

# What a broken media file can raise while it is decoded (PyAV's errors are not all OSErrors).
DECODE_ERRORS = (InvalidInputError, OSError, av.error.FFmpegError, EOFError)

__all__ = [
    "CHANNEL_MIXES",
    "DECODE_ERRORS",
    "SILENCE_THRESHOLD_DBFS",
    "MediaFile",
    "OpenedMedia",
    "describe_source",
    "is_media_source",
    "is_silent",
    "mix_channels",
    "open_media",
    "peak_dbfs",
]

MediaSource = str | os.PathLike | bytes

# FFmpeg's "tty" demuxer shows any text file as ANSI-art video; a text file is not media.
_TEXT_FORMATS = {"tty"}
# How far (in frames at the header's rate) count / fps may miss the stream's duration before the rate is taken
# for a variable one: container rounding stays within a frame for a constant rate.
_RATE_MISMATCH_FRAMES = 2


def is_media_source(x) -> bool:
    """Whether `x` names a media file (a path), holds one (bytes) or is one already opened (a `MediaFile`), as
    opposed to decoded samples or frames."""
    return isinstance(x, (str, os.PathLike, bytes, bytearray, memoryview, MediaFile))


def describe_source(source: MediaSource) -> str:
    """A short name for messages: the path, or the size of a byte string."""
    if isinstance(source, MediaFile):
        return source.name
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes of media>"
    return str(os.fspath(source))


class MediaFile(AudioReading, FrameReading):
    """An opened media container (path or bytes); use as a context manager.

    Args:
        source: A path or the file's bytes.
        name: How messages name the input (default: the path, or the size of the bytes).
        audio_stream: Which audio track `read_audio` decodes, as an index among the file's audio streams
            (`audio_tracks()` lists them). Default: the track flagged as default (the one players pick), else
            the first. Films and screen recordings often carry several (a silent or commentary track first).

    Raises `MediaDecodeError` (a `ValueError`) naming the input when it is missing, a directory, or not
    decodable media; `InvalidInputError` when `audio_stream` names no audio track of it.
    """

    def __init__(self, source: MediaSource, *, name: str | None = None, audio_stream: int | None = None):
        self.name = name or describe_source(source)
        if audio_stream is not None and (isinstance(audio_stream, bool) or not isinstance(audio_stream, int)):
            raise InvalidInputError(
                f"{self.name}: `audio_stream` must be an int (an audio track index), got {audio_stream!r}"
            )
        self._audio_stream = audio_stream
        if isinstance(source, (bytes, bytearray, memoryview)):
            if len(source) == 0:
                raise MediaDecodeError(f"{self.name}: empty byte string, not a media file")
            self._bytes: bytes | None = bytes(source)
            self._path: str | None = None
        elif isinstance(source, (str, os.PathLike)):
            path = Path(os.fspath(source))
            if not path.exists():
                raise MediaDecodeError(f"{self.name}: no such file")
            if path.is_dir():
                raise MediaDecodeError(f"{self.name}: is a directory, not a media file")
            if not path.is_file():
                # A FIFO, socket or device would block the demuxer (a FIFO forever, with no writer).
                raise MediaDecodeError(
                    f"{self.name}: is not a regular file (a FIFO, socket or device); give a media file or its bytes"
                )
            self._bytes, self._path = None, str(path)
        else:
            raise MediaDecodeError(f"{self.name}: expected a path or bytes, got {type(source).__name__}")
        self._container = None
        self._used = False
        self._info: VideoInfo | None = None
        self._open()

    # -- opening ---------------------------------------------------------------------------------

    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        try:
            target = io.BytesIO(self._bytes) if self._bytes is not None else self._path
            self._container = av.open(target, mode="r")
        except (av.FFmpegError, OSError, ValueError) as err:
            raise MediaDecodeError(f"{self.name}: cannot be opened as audio or video ({err})") from err
        self._used = False
        if self._container.format.name in _TEXT_FORMATS:
            self._container.close()
            raise MediaDecodeError(f"{self.name}: is a text file, not audio or video")
        streams = self._container.streams
        self._video = next(
            (s for s in streams.video if not (s.disposition & av.stream.Disposition.attached_pic)), None
        )  # cover art in audio files is a one-picture "video" stream: not a video
        self._audio = self._choose_audio(list(streams.audio))
        if self._video is None and self._audio is None:
            self._container.close()
            raise MediaDecodeError(f"{self.name}: contains neither an audio nor a video stream")
        if self._video is not None:
            # Frame + slice threads, as OpenCV's FFmpeg backend uses; settable only before decoding.
            self._video.thread_type = "AUTO"

    def _fresh(self):
        """The container at its start, for a pass that must decode from there: reopened after an earlier pass
        (seeking back is not exact in every demuxer, nor for audio codecs with a delay, reopening is). The frames
        pass, which checks where its seek landed, seeks instead: so the processor (audio first, then frames)
        reads a file through one opening."""
        if self._used:
            self._open()
        self._used = True
        return self._container

    def _rewound(self, stream):
        """The container positioned at `stream`'s start by a seek when an earlier pass used it (exact enough to
        read a frame's side data, which the stream gives every frame alike), else as opened."""
        if not self._used:
            self._used = True
            return self._container
        try:
            self._container.seek(stream_timing(stream)[0], stream=stream, backward=True)
        except av.FFmpegError:
            return self._fresh()
        return self._container

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> MediaFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- streams ---------------------------------------------------------------------------------

    def _choose_audio(self, tracks: list):
        if not tracks:
            return None  # reading audio raises MissingModalityError, whatever audio_stream says
        if self._audio_stream is None:
            return next((t for t in tracks if t.disposition & av.stream.Disposition.default), tracks[0])
        if not 0 <= self._audio_stream < len(tracks):
            self._container.close()
            listed = "; ".join(_describe_track(self._track(t, k)) for k, t in enumerate(tracks))
            raise InvalidInputError(
                f"{self.name}: audio_stream={self._audio_stream}, but it has {len(tracks)} audio track(s): {listed}"
            )
        return tracks[self._audio_stream]

    @property
    def audio_stream(self) -> int | None:
        """The `audio_stream` this file was opened with (None: the default track)."""
        return self._audio_stream

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    def audio_tracks(self) -> list[AudioTrack]:
        """Every audio stream of the file, in order (their `index` is what `audio_stream` takes)."""
        return [self._track(t, k) for k, t in enumerate(self._container.streams.audio)]

    @property
    def audio_track(self) -> AudioTrack | None:
        """The audio track `read_audio` decodes (None without audio)."""
        if self._audio is None:
            return None
        return self._track(self._audio, list(self._container.streams.audio).index(self._audio))

    @staticmethod
    def _track(stream, index: int) -> AudioTrack:
        layout = stream.layout
        tags = {key.lower(): value for key, value in stream.metadata.items()}
        return AudioTrack(
            index=index,
            channels=stream.channels,
            layout=layout.name,
            channel_names=tuple(c.name for c in layout.channels),
            sample_rate=stream.sample_rate,
            default=bool(stream.disposition & av.stream.Disposition.default),
            language=tags.get("language"),
            title=tags.get("title"),
        )

    @property
    def has_video(self) -> bool:
        return self._video is not None

    def video_info(self) -> VideoInfo:
        """Geometry (as displayed) and timing of the video stream; the first call decodes one frame to
        learn the display orientation."""
        if self._info is None:
            self._info = self._read_video_info()
        return self._info

    def _read_video_info(self) -> VideoInfo:
        stream = self._require_video()
        fps = stream.guessed_rate or stream.average_rate
        if not fps or fps <= 0:
            if not stream.time_base:
                raise MediaDecodeError(f"{self.name}: the video stream has no frame rate")
            fps = 1 / stream.time_base
        fps = Fraction(fps)
        stream_duration = stream_length(stream)
        duration = 0.0
        if self._container.duration and self._container.duration > 0:
            duration = self._container.duration / av.time_base
        elif stream_duration is not None:
            duration = float(stream_duration)
        count = int(stream.frames or 0)
        known = count > 0
        averaged = False
        if not known:
            # Frames at i / fps then span the duration whatever the rate: nothing contradicts it.
            count = int(np.floor(duration * float(fps) + 0.5))
        else:
            # A variable frame rate: the header's rate (av_guess_frame_rate, often the finest timestamp step,
            # e.g. 60) times the real count can span a fraction of the real duration, so that frame i at
            # i / fps would never reach the end. Then use the average rate over the video's own duration.
            video_duration = stream_duration or Fraction(self._container.duration or 0, av.time_base)
            if video_duration > 0 and abs(count / fps - video_duration) > _RATE_MISMATCH_FRAMES / fps:
                fps, duration, averaged = count / video_duration, float(video_duration), True
        width, height = stream.codec_context.width, stream.codec_context.height
        orientation = self._first_frame_orientation()
        if orientation.transpose:
            width, height = height, width
        return VideoInfo(
            width, height, fps, count, duration, known, orientation.rotation, orientation.mirrored, averaged
        )

    def stream_durations(self) -> dict[str, float]:
        """Seconds the chosen audio track and the video stream last, each on its own clock from its first
        timestamp (as `read_audio` and `read_frames_at` count time); a stream that states no duration gets the
        file's. A stream the file lacks, or a length nothing states, is left out."""
        streams = {"audio": self._audio, "video": self._video}
        lengths = {key: stream_length(stream) or self.duration for key, stream in streams.items() if stream is not None}
        return {key: float(length) for key, length in lengths.items() if length is not None}

    @property
    def duration(self) -> float | None:
        """Length in seconds (the container's, else its longest stream's); None when unknown."""
        if self._container.duration and self._container.duration > 0:
            return self._container.duration / av.time_base
        lengths = [stream_length(s) for s in (self._video, self._audio) if s is not None]
        return max((float(length) for length in lengths if length is not None), default=None)


@contextlib.contextmanager
def open_media(source, *, name: str | None = None, audio_stream: int | None = None) -> Iterator[MediaFile]:
    """`source` as an opened `MediaFile`: the caller's own when it is one already (left open for its next use,
    e.g. the next window of a long recording), else opened here and closed after."""
    if isinstance(source, MediaFile):
        if audio_stream is not None and audio_stream != source.audio_stream:
            raise InvalidInputError(
                f"{source.name}: audio_stream={audio_stream}, but this MediaFile was opened with "
                f"audio_stream={source.audio_stream}; open it with the track wanted"
            )
        yield source
        return
    with MediaFile(source, name=name, audio_stream=audio_stream) as media:
        yield media


class OpenedMedia(contextlib.ExitStack):
    """Each batch item's media file, opened once per call for all it gives (audio, frames, the face crop) and
    closed with this stack; a `MediaFile` given is the caller's and stays open. The first `get` of an item opens
    it, with its `audio_stream` when the audio comes from it."""

    def __init__(self):
        super().__init__()
        self._by_item: dict[int, MediaFile] = {}

    def get(self, source, index: int, name: str, audio_stream: int | None = None) -> MediaFile:
        if index not in self._by_item:
            self._by_item[index] = self.enter_context(open_media(source, name=name, audio_stream=audio_stream))
        return self._by_item[index]
