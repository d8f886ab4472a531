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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .errors import InvalidInputError, MediaDecodeError, MissingModalityError

__all__ = [
    "CHANNEL_MIXES",
    "SILENCE_THRESHOLD_DBFS",
    "AudioTrack",
    "MediaFile",
    "MediaSource",
    "VideoInfo",
    "describe_source",
    "is_media_source",
    "is_silent",
    "mix_channels",
    "open_media",
    "parse_time_range",
    "peak_dbfs",
    "sample_range",
]

MediaSource = str | os.PathLike | bytes

# FFmpeg's "tty" demuxer shows any text file as ANSI-art video; a text file is not media.
_TEXT_FORMATS = {"tty"}
# How far before the first wanted frame to seek, in frames: the nearest frame can precede the wanted
# time, and some demuxers land a little late.
_SEEK_MARGIN_FRAMES = 2
# How far (in frames at the header's rate) count / fps may miss the stream's duration before the rate is taken
# for a variable one: container rounding stays within a frame for a constant rate.
_RATE_MISMATCH_FRAMES = 2
# How far before a wanted audio range to seek: codecs with overlapping frames (AAC, Opus, MP3) and the
# resampler's filter need some preceding input before their output is exact.
_AUDIO_SEEK_MARGIN_S = Fraction(1, 2)


# How several audio channels become the one the fbank takes (see `mix_channels`).
CHANNEL_MIXES = ("first", "mean", "downmix")
# Audio whose peak stays below this (dB relative to full scale 1.0) is taken for silence: real recordings
# peak far above it (speech around -20 to -3 dBFS); 16-bit quantisation noise sits near -90 dBFS.
SILENCE_THRESHOLD_DBFS = -60.0


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


@dataclass(frozen=True)
class VideoInfo:
    """A video stream's geometry and timing, as OpenCV would report them, upright and over its real length.

    For a constant frame rate, `fps` and `num_frames` are OpenCV's; for a variable one (when they contradict
    the duration) `fps` is the average rate. Either way frame `i` is the one shown at `i / fps`."""

    width: int  # as displayed, after `rotation` (a 320x240 stream rotated by 90 degrees is 240 wide)
    height: int
    fps: Fraction
    num_frames: int  # container's count, else round(duration * fps); may be off for broken headers
    duration: float  # seconds
    frame_count_known: bool  # False when num_frames was estimated from the duration
    rotation: int = 0  # degrees the stored frames are turned counter-clockwise for display: 0, 90, 180, 270
    mirrored: bool = False  # mirrored left-right after the rotation (some front cameras, EXIF 2/4/5/7)
    # True when the header's rate times the frame count contradicted the stream's duration (variable frame
    # rate): fps is then the average rate num_frames / duration, so that frame i at i / fps spans the clip.
    average_rate: bool = False


@dataclass(frozen=True)
class AudioTrack:
    """One audio stream of a file, as `MediaFile.audio_tracks()` lists them."""

    index: int  # among the file's audio streams: what `MediaFile(..., audio_stream=)` takes
    channels: int
    layout: str  # FFmpeg's name: "mono", "stereo", "5.1", "5.1(side)", or "6 channels" when unspecified
    channel_names: tuple[str, ...]  # e.g. ("FL", "FR", "FC", "LFE", "BL", "BR"); "NONE" when unspecified
    sample_rate: int
    default: bool  # flagged as the default track (the one players pick)
    language: str | None
    title: str | None


@dataclass(frozen=True)
class _Orientation:
    """How to turn a stored frame into the displayed one: transpose, then flip rows and/or columns."""

    transpose: bool = False
    flip_rows: bool = False
    flip_cols: bool = False

    @classmethod
    def from_display_matrix(cls, matrix) -> _Orientation:
        """From FFmpeg's 3x3 display matrix, which maps a stored pixel (x, y) (y down) to the displayed
        (a x + c y, b x + d y) with [a b . c d . . . .]; angles between multiples of 90 degrees round to
        the nearest one."""
        a, b, c, d = (int(matrix[k]) for k in (0, 1, 3, 4))
        if abs(a) + abs(d) >= abs(b) + abs(c):
            return cls(False, flip_rows=d < 0, flip_cols=a < 0)
        return cls(True, flip_rows=b < 0, flip_cols=c < 0)

    @classmethod
    def counter_clockwise(cls, degrees: int) -> _Orientation:
        turns = round(degrees / 90) % 4
        return (cls(), cls(True, flip_rows=True), cls(False, True, True), cls(True, flip_cols=True))[turns]

    @property
    def mirrored(self) -> bool:
        # A rotation flips both axes or (transposed) exactly one; anything else mirrors.
        return self.flip_rows == self.flip_cols if self.transpose else self.flip_rows != self.flip_cols

    @property
    def rotation(self) -> int:
        """Counter-clockwise degrees, the mirroring (a left-right flip after the rotation) taken out."""
        flip_cols = self.flip_cols != self.mirrored
        if self.transpose:
            return 270 if flip_cols else 90
        return 180 if flip_cols else 0

    def apply(self, image: np.ndarray) -> np.ndarray:
        """(H, W, C) as stored -> as displayed (a view)."""
        if self.transpose:
            image = image.transpose(1, 0, 2)
        if self.flip_rows:
            image = image[::-1]
        if self.flip_cols:
            image = image[:, ::-1]
        return image


class MediaFile:
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
            self._container.seek(_stream_timing(stream)[0], stream=stream, backward=True)
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
        stream_duration = Fraction(stream.duration) * stream.time_base if stream.duration and stream.time_base else None
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

    def _first_frame_orientation(self) -> _Orientation:
        """The display orientation of the first decodable frame (the stream's, in practice)."""
        container = self._rewound(self._video)
        try:
            frame = next(container.decode(self._video), None)
        except av.FFmpegError as err:
            raise MediaDecodeError(f"{self.name}: the video stream cannot be decoded ({err})") from err
        return self._orientation(frame) if frame is not None else self._tag_orientation()

    def _orientation(self, frame) -> _Orientation:
        """A decoded frame's display orientation: its display matrix, else the stream's `rotate` tag."""
        matrix = frame.side_data.get("DISPLAYMATRIX")
        if matrix is not None:
            return _Orientation.from_display_matrix(np.frombuffer(bytes(matrix), np.int32))
        return self._tag_orientation()

    def _tag_orientation(self) -> _Orientation:
        tags = {key.lower(): value for key, value in self._video.metadata.items()}
        try:
            clockwise = float(tags.get("rotate", 0))
        except ValueError:
            return _Orientation()
        return _Orientation.counter_clockwise(-clockwise) if np.isfinite(clockwise) else _Orientation()

    def _require_video(self):
        if self._video is None:
            raise MissingModalityError(
                f"{self.name}: has no video stream"
                + (" (it is an audio file: pass it as `audio=`)" if self._audio is not None else "")
            )
        return self._video

    # -- audio -----------------------------------------------------------------------------------

    def read_audio(
        self,
        sample_rate: int = 16000,
        max_samples: int | None = None,
        *,
        start_s: float | Fraction | None = None,
        end_s: float | Fraction | None = None,
        channel_mix: str | None = None,
    ) -> np.ndarray:
        """The chosen audio track (see `audio_stream`) as float32 `(channels, samples)` at `sample_rate`.

        `channel_mix`: None keeps every channel; `"first"`, `"mean"` or `"downmix"` return one channel,
        `(1, samples)`, as `mix_channels` says. The mix is made chunk by chunk while decoding, so a
        many-channel track never sits in memory whole.

        Resampling is libswresample with its defaults (PyAV's `AudioResampler`), the same resampler
        as the `ffmpeg -ar 16000` the CAV-MAE preprocessing ran. Decoding stops once `max_samples`
        output samples exist: the resampler's output up to there does not depend on later input.

        `start_s` / `end_s` (seconds from the track's start) return only the samples of that range:
        the same samples as slicing the whole track at `round(t * sample_rate)`, but decoding starts
        at a seek point shortly before `start_s` (so a window of a long file costs only the window).
        """
        if self._audio is None:
            raise MissingModalityError(f"{self.name}: has no audio track")
        _check_channel_mix(channel_mix)
        first, last = sample_range(start_s, end_s, sample_rate, self.name)
        if max_samples is not None:
            last = first + max_samples if last is None else min(last, first + max_samples)
        audio, offset = None, 0
        if first > 0:
            audio, offset = self._decode_audio(sample_rate, last, first, channel_mix)
            if offset > first:  # the seek landed late (imprecise index): decode from the start instead
                audio = None
        if audio is None:
            audio, offset = self._decode_audio(sample_rate, last, None, channel_mix)
        return audio[:, first - offset : None if last is None else last - offset]

    def _decode_audio(self, sample_rate: int, stop_sample: int | None, seek_sample: int | None, channel_mix):
        """Decode (after seeking near `seek_sample`, if given) until `stop_sample`, mixing channels as
        `channel_mix` says; returns the samples and the track position (in output samples) of the first one."""
        # Reopened after an earlier pass even to seek: after a whole pass a demuxer's index has grown, and where
        # its seek lands (and the timestamps audio codecs with a delay give there) can move by a codec frame.
        container = self._fresh()
        stream = self._audio
        start, time_base = _stream_timing(stream)
        if seek_sample is not None:
            seek_time = max(Fraction(seek_sample, sample_rate) - _AUDIO_SEEK_MARGIN_S, 0)
            try:
                container.seek(int(start + seek_time / time_base), stream=stream, backward=True)
            except av.FFmpegError:
                return None, 0
        resampler = _resampler(stream.layout, stream.channels, sample_rate, channel_mix)
        samples = _Samples(self._expected_samples(sample_rate, stop_sample, seek_sample))
        offset = None
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    if offset is None:
                        offset = self._output_position(out, frame, start, time_base, sample_rate, seek_sample)
                    samples.append(_mix_chunk(out.to_ndarray(), channel_mix))
                if stop_sample is not None and offset is not None and offset + samples.size >= stop_sample:
                    break
            else:
                for out in resampler.resample(None):
                    samples.append(_mix_chunk(out.to_ndarray(), channel_mix))
        except av.FFmpegError as err:
            raise MediaDecodeError(f"{self.name}: the audio track cannot be decoded ({err})") from err
        return samples.array(stream.channels or 1 if channel_mix is None else 1), offset or 0

    def _expected_samples(self, sample_rate: int, stop_sample: int | None, seek_sample: int | None) -> int:
        """About how many output samples a decode gives (a little more), to allocate them at once."""
        margin = int((_AUDIO_SEEK_MARGIN_S + Fraction(1, 10)) * sample_rate)  # the seek margin, codec frames
        begin = seek_sample or 0
        if stop_sample is not None:
            return stop_sample - begin + margin
        stream = self._audio
        if stream.duration and stream.time_base:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = self.duration or 10.0
        return max(int(seconds * sample_rate) - begin, 0) + margin

    @staticmethod
    def _output_position(out, frame, start: int, time_base: Fraction, sample_rate: int, seek_sample) -> int:
        """Track position (in output samples) of the resampler's first output after a seek; 0 without one."""
        if seek_sample is None:
            return 0
        if out.pts is not None and out.time_base is not None:
            seconds = Fraction(out.pts) * Fraction(out.time_base) - start * time_base
        else:
            seconds = (frame.pts - start) * time_base
        return max(round(seconds * sample_rate), 0)

    def stream_durations(self) -> dict[str, float]:
        """Seconds the chosen audio track and the video stream last, each on its own clock from its first
        timestamp (as `read_audio` and `read_frames_at` count time); a stream that states no duration gets the
        file's. A stream the file lacks, or a length nothing states, is left out."""
        lengths = {}
        for key, stream in (("audio", self._audio), ("video", self._video)):
            if stream is None:
                continue
            if stream.duration and stream.time_base:
                lengths[key] = float(stream.duration * stream.time_base)
            elif self.duration is not None:
                lengths[key] = self.duration
        return lengths

    @property
    def duration(self) -> float | None:
        """Length in seconds (the container's, else its longest stream's); None when unknown."""
        if self._container.duration and self._container.duration > 0:
            return self._container.duration / av.time_base
        lengths = [
            float(s.duration * s.time_base)
            for s in (self._video, self._audio)
            if s is not None and s.duration and s.time_base
        ]
        return max(lengths) if lengths else None

    # -- video -----------------------------------------------------------------------------------

    def read_frames_at(
        self,
        times: Sequence[float | Fraction],
        channel_order: str = "rgb",
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        """The frames shown at `times` (seconds from the stream's start), uint8 `(n, H, W, 3)`, upright.

        Each time gets the frame whose timestamp is nearest (ties: the earlier frame); times past
        the end get the last frame. For a constant frame rate, time `i / fps` is exactly frame `i`.
        Frames are turned and mirrored as the stream's display matrix (or `rotate` tag) says, so H and W
        are `video_info()`'s height and width.

        Each frame becomes an array as soon as it is known to be the nearest, while decoding goes on. With
        `transform` (e.g. to float and resized), it is applied to each distinct frame's `(H, W, 3)` array
        then and a list of its results (one per time, in order) is returned instead: only the results are
        kept, never the full-size frames (8 frames of 4K video are 190 MB as uint8, 800 MB as float32).
        """
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if len(times) == 0:
            return [] if transform is not None else np.zeros((0, 0, 0, 3), np.uint8)
        info = self.video_info()
        fmt = "rgb24" if channel_order == "rgb" else "bgr24"
        frames = _FrameCollector(times, fmt, self._orientation, self.name, transform)
        wanted = sorted(frames.positions)
        first_time, sought = self._decode_nearest(wanted, info, frames.take, seek=True)
        if sought and first_time > wanted[0]:
            # The seek landed after the first wanted time (imprecise seeking in some demuxers), so an
            # earlier frame might have been nearer: decode from the start of a fresh opening instead.
            self._decode_nearest(wanted, info, frames.take, seek=False)
        return frames.out if transform is None else frames.transformed

    @staticmethod
    def _decode_skipping(container, stream, start: int, time_base: Fraction, skip_before: Fraction):
        """Decode the stream, skipping non-reference frames whose packets are timed before `skip_before`.

        Those frames are not wanted, and no other frame depends on them, so the wanted frames are
        bit-identical; on long-GOP files (x264's default key frame interval is 250) this avoids
        decoding about half of the frames between the key frame and the window. The decision is
        per packet and by the packet's own timestamp, so B-frame reordering cannot skip a wanted one.
        """
        context = stream.codec_context
        skipping = skip_before > 0
        context.skip_frame = "NONREF" if skipping else "DEFAULT"
        try:
            for packet in container.demux(stream):
                if skipping and packet.pts is not None and (packet.pts - start) * time_base >= skip_before:
                    context.skip_frame = "DEFAULT"
                    skipping = False
                yield from packet.decode()
        finally:
            context.skip_frame = "DEFAULT"

    def frame_times(self) -> list[Fraction]:
        """Every frame's presentation time (seconds from the stream start), from a demux-only pass.

        Cheap (no decoding); useful to inspect variable-frame-rate streams."""
        container = self._fresh()
        stream = self._require_video()
        start, time_base = _stream_timing(stream)
        return sorted((p.pts - start) * time_base for p in container.demux(stream) if p.pts is not None)

    def _decode_nearest(self, wanted: list[Fraction], info: VideoInfo, take, *, seek: bool):
        """Call `take(time, frame)` with each wanted time's nearest frame as soon as it is known; return the
        first decoded time and whether a seek was made."""
        if not seek and self._used:
            self._open()
        container, stream = self._container, self._video
        used_before, self._used = self._used, True
        start, time_base = _stream_timing(stream)
        period = 1 / info.fps
        seek_time = wanted[0] - _SEEK_MARGIN_FRAMES * period
        # After the audio pass the demuxer is mid-file: seek back even when the window starts at 0.
        sought = seek and (seek_time > 0 or used_before)
        if sought:
            try:
                container.seek(int(start + max(seek_time, 0) / time_base), stream=stream, backward=True)
            except av.FFmpegError:
                return self._decode_nearest(wanted, info, take, seek=False)
        index = 0
        previous = None  # (frame, time)
        first_time = None
        try:
            for frame in self._decode_skipping(container, stream, start, time_base, seek_time):
                if frame.pts is not None:
                    time = (frame.pts - start) * time_base
                else:  # no timestamp: one frame period after the previous frame
                    time = previous[1] + period if previous is not None else Fraction(0)
                if first_time is None:
                    first_time = time
                while index < len(wanted) and wanted[index] <= time:
                    target = wanted[index]
                    nearer_before = previous is not None and target - previous[1] <= time - target
                    take(target, previous[0] if nearer_before else frame)
                    index += 1
                if index == len(wanted):
                    break
                previous = (frame, time)
        except av.FFmpegError as err:
            raise MediaDecodeError(f"{self.name}: the video stream cannot be decoded ({err})") from err
        if first_time is None:
            if sought:  # nothing after the seek point: maybe a bad index, try from the start
                return self._decode_nearest(wanted, info, take, seek=False)
            raise MediaDecodeError(f"{self.name}: the video stream has no decodable frames")
        for target in wanted[index:]:  # past the last frame
            take(target, previous[0])
        return first_time, sought


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


def mix_channels(samples: np.ndarray, channel_mix: str) -> np.ndarray:
    """Float32 `(channels, samples)` -> one channel `(1, samples)`.

    - `"first"`: channel 0, what both originals used (torchaudio's kaldi.fbank reads channel 0; CAV-MAE's
      preprocessing ran `sox remix 1`). A 5.1 track's first channel is front-left: silent when the voice
      is in the centre channel.
    - `"mean"`: the average of all channels (LFE and surrounds included).
    - `"downmix"`: libswresample's downmix to mono, FFmpeg's default matrix normalised so that its weights
      sum to 1 (what `ffmpeg -ac 1` writes to 16-bit audio): for stereo (L + R) / 2, for 5.1
      0.293 FC + 0.207 (FL + FR) + 0.146 (BL + BR), LFE dropped. The centre channel weighs most. The
      channel order is FFmpeg's default layout for the channel count (5.1 for 6 channels).

    One channel comes back unchanged whatever the mix.
    """
    _check_channel_mix(channel_mix)
    samples = np.asarray(samples, np.float32)
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError(f"expected samples shaped (channels, samples), got {samples.shape}")
    if samples.shape[0] == 1 or channel_mix != "downmix":
        return _mix_chunk(samples, channel_mix)
    layout = f"{samples.shape[0]} channels"  # unspecified order: libswresample takes the default layout
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
    frame.sample_rate, frame.pts = 16000, 0  # any rate: same in and out, nothing is resampled
    resampler = _resampler(frame.layout, samples.shape[0], 16000, "downmix")
    chunks = [out.to_ndarray() for out in resampler.resample(frame)]
    chunks += [out.to_ndarray() for out in resampler.resample(None)]
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False)


def peak_dbfs(samples: np.ndarray) -> float:
    """The peak level of float samples in dB relative to full scale (1.0); -inf for all zeros or none."""
    samples = np.asarray(samples)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def is_silent(samples: np.ndarray, threshold_dbfs: float = SILENCE_THRESHOLD_DBFS) -> bool:
    """Whether float samples never rise above `threshold_dbfs` (an empty track, a muted one, a silent channel).

    For callers to warn: a 5.1 track with the voice in its centre gives silence with `channel_mix="first"`,
    and a file whose first audio track is muted gives silence with the wrong `audio_stream`."""
    return peak_dbfs(samples) < threshold_dbfs


def _check_channel_mix(channel_mix) -> None:
    if channel_mix is not None and channel_mix not in CHANNEL_MIXES:
        raise ValueError(f"channel_mix must be one of {CHANNEL_MIXES} or None, got {channel_mix!r}")


def _mix_chunk(samples: np.ndarray, channel_mix: str | None) -> np.ndarray:
    """Mix a (channels, n) chunk; "downmix" was done by the resampler (or there is one channel)."""
    if channel_mix is None or samples.shape[0] == 1 or channel_mix == "downmix":
        return samples
    if channel_mix == "first":
        return samples[:1].copy()  # a copy: a view would keep every channel alive
    return samples.mean(axis=0, dtype=np.float64, keepdims=True).astype(np.float32)


def _resampler(layout, channels: int, sample_rate: int, channel_mix: str | None) -> av.AudioResampler:
    """Float planar at `sample_rate`; mono through libswresample's normalised matrix for "downmix"."""
    if channel_mix == "downmix" and channels > 1:
        return av.AudioResampler(format="fltp", layout="mono", rate=sample_rate, options={"rematrix_maxval": "1"})
    return av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)


def _describe_track(track: AudioTrack) -> str:
    language = track.language if track.language != "und" else None  # "undetermined" says nothing
    extras = [x for x in (language, track.title, "default" if track.default else None) if x]
    return f"{track.index}: {track.layout}" + (f" ({', '.join(extras)})" if extras else "")


class _Samples:
    """Decoded `(channels, n)` chunks written into one array allocated up front (grown if the estimate was
    short), so that reading a long track peaks at about its own size, not twice it (a list of chunks plus
    their concatenation). Pages past the end are never touched, so an estimate that is too long costs no
    memory."""

    def __init__(self, capacity: int):
        self._capacity = max(int(capacity), 1)
        self._data: np.ndarray | None = None
        self.size = 0

    def append(self, chunk: np.ndarray) -> None:
        if self._data is None:
            self._data = np.empty((chunk.shape[0], max(self._capacity, chunk.shape[1])), np.float32)
        end = self.size + chunk.shape[1]
        if end > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(end, self._data.shape[1] * 3 // 2)), np.float32)
            grown[:, : self.size] = self._data[:, : self.size]
            self._data = grown
        self._data[:, self.size : end] = chunk
        self.size = end

    def array(self, channels: int) -> np.ndarray:
        if self._data is None:
            return np.zeros((channels, 0), np.float32)
        data = self._data[:, : self.size]
        return data if data.shape[0] == 1 else np.ascontiguousarray(data)


class _FrameCollector:
    """Puts each chosen frame, converted and turned upright, into the output as soon as it is chosen.

    Decoded 4K frames are 12 MB each: converting them one by one straight into the preallocated output
    keeps none of them, and no second copy of the output (a list of arrays, then a stack of it). With a
    `transform`, only its results are kept."""

    def __init__(self, times: Sequence[float | Fraction], fmt: str, orientation, name: str, transform=None):
        self.positions: dict[Fraction, list[int]] = {}
        for k, t in enumerate(times):
            self.positions.setdefault(Fraction(t), []).append(k)
        self._count, self._fmt, self._orientation, self._name = len(times), fmt, orientation, name
        self._transform = transform
        self._last = (None, None)  # (frame, array or transformed): neighbouring times often share a frame
        self.out: np.ndarray | None = None
        self.transformed: list = [None] * len(times)

    def take(self, target: Fraction, frame) -> None:
        if frame is not self._last[0]:
            self._last = (None, None)  # free the previous conversion first: one 4K conversion alive at a time
            array = self._orientation(frame).apply(_to_array(frame, self._fmt))
            self._last = (frame, array if self._transform is None else self._transform(array))
        if self._transform is not None:
            for k in self.positions[target]:
                self.transformed[k] = self._last[1]
            return
        array = self._last[1]
        if self.out is None:
            self.out = np.empty((self._count, *array.shape), np.uint8)
        elif array.shape != self.out.shape[1:]:
            raise MediaDecodeError(
                f"{self._name}: the video changes size within the stream ({self.out.shape[2]}x{self.out.shape[1]} "
                f"to {array.shape[1]}x{array.shape[0]} at {float(target):g} s); this is not supported"
            )
        for k in self.positions[target]:
            self.out[k] = array  # plain indexing: no broadcast temporary


def _stream_timing(stream) -> tuple[int, Fraction]:
    """The stream's first timestamp (in its time base; 0 when unknown) and its time base."""
    return (stream.start_time if stream.start_time is not None else 0), Fraction(stream.time_base)


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


def _seconds(value, what: str, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction, np.integer, np.floating)):
        raise InvalidInputError(f"{name}: `{what}` must be a number of seconds, got {value!r}")
    if not np.isfinite(float(value)) or value < 0:
        raise InvalidInputError(f"{name}: `{what}` must be a finite number of seconds >= 0, got {value!r}")
    if isinstance(value, Fraction):
        return value
    return Fraction(int(value)) if isinstance(value, (int, np.integer)) else Fraction(float(value))


def _to_array(frame, fmt: str) -> np.ndarray:
    # OpenCV's conversion: swscale with SWS_BICUBIC and its default (BT.601) matrix, ignoring tags. One thread:
    # PyAV >= 17 otherwise gives each converted frame a pool of swscale threads, and a process forked after that
    # (a DataLoader worker, when the main process decoded before) crashes or hangs when it frees one.
    return frame.to_ndarray(format=fmt, interpolation="BICUBIC", src_colorspace="ITU601", threads=1)
