"""Reading a media file's audio track with PyAV: resampled (libswresample, as `ffmpeg -ar`), channels mixed while
decoding, and only the samples of the wanted range decoded (a seek shortly before it).

`AudioReading` is `MediaFile`'s audio half; the channel mixes and the silence check are also used on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .errors import MediaDecodeError, MissingModalityError
from .time_ranges import sample_range, stream_length, stream_timing

__all__ = [
    "CHANNEL_MIXES",
    "SILENCE_THRESHOLD_DBFS",
    "AudioReading",
    "AudioTrack",
    "is_silent",
    "mix_channels",
    "peak_dbfs",
]

# How far before a wanted audio range to seek: codecs with overlapping frames (AAC, Opus, MP3) and the
# resampler's filter need some preceding input before their output is exact.
_AUDIO_SEEK_MARGIN_S = Fraction(1, 2)


# How several audio channels become the one the fbank takes (see `mix_channels`).
CHANNEL_MIXES = ("first", "mean", "downmix")
# Audio whose peak stays below this (dB relative to full scale 1.0) is taken for silence: real recordings
# peak far above it (speech around -20 to -3 dBFS); 16-bit quantisation noise sits near -90 dBFS.
SILENCE_THRESHOLD_DBFS = -60.0


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


class AudioReading:
    """`MediaFile`'s audio: the chosen track (`self._audio`) of the opened container, read as asked."""

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
        start, time_base = stream_timing(stream)
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
        seconds = float(stream_length(self._audio) or self.duration or 10.0)
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


def is_silent(samples: np.ndarray) -> bool:
    """Whether float samples never rise above `SILENCE_THRESHOLD_DBFS` (an empty track, a muted one, a silent channel).

    For callers to warn: a 5.1 track with the voice in its centre gives silence with `channel_mix="first"`,
    and a file whose first audio track is muted gives silence with the wrong `audio_stream`."""
    return peak_dbfs(samples) < SILENCE_THRESHOLD_DBFS


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
