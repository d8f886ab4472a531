"""Reading a media file's video frames with PyAV: picked by their real presentation timestamps (variable frame
rates, containers without a frame count), turned upright as players show them (display matrix, else the `rotate`
tag), and converted as OpenCV converts them; only what is needed is decoded (a seek to the key frame before the
first wanted time, non-reference frames before it skipped).

`FrameReading` is `MediaFile`'s video half.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np

from .errors import MediaDecodeError, MissingModalityError
from .time_ranges import stream_timing

__all__ = ["FrameReading", "VideoInfo"]

# How far before the first wanted frame to seek, in frames: the nearest frame can precede the wanted
# time, and some demuxers land a little late.
_SEEK_MARGIN_FRAMES = 2


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


class FrameReading:
    """`MediaFile`'s video: the video stream (`self._video`) of the opened container, its frames read as asked."""

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
        start, time_base = stream_timing(stream)
        return sorted((p.pts - start) * time_base for p in container.demux(stream) if p.pts is not None)

    def _decode_nearest(self, wanted: list[Fraction], info: VideoInfo, take, *, seek: bool):
        """Call `take(time, frame)` with each wanted time's nearest frame as soon as it is known; return the
        first decoded time and whether a seek was made."""
        if not seek and self._used:
            self._open()
        container, stream = self._container, self._video
        used_before, self._used = self._used, True
        start, time_base = stream_timing(stream)
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


def _to_array(frame, fmt: str) -> np.ndarray:
    # OpenCV's conversion: swscale with SWS_BICUBIC and its default (BT.601) matrix, ignoring tags. One thread:
    # PyAV >= 17 otherwise gives each converted frame a pool of swscale threads, and a process forked after that
    # (a DataLoader worker, when the main process decoded before) crashes or hangs when it frees one.
    return frame.to_ndarray(format=fmt, interpolation="BICUBIC", src_colorspace="ITU601", threads=1)
