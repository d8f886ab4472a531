"""Synthetic audiovisual clips: a face-like shape whose mouth opens with its own voice.

For tests, demos and learning proofs without real data. Class attributes are explicit knobs so that a
labelled dataset can make its label depend on both modalities: the video's `shape` and `color`, the
audio's `tone_hz` (a pure tone, or the fundamental of the speech-like voice). Everything is seeded.
"""

from __future__ import annotations

import fractions
import os
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np

__all__ = [
    "SHAPES",
    "make_frames",
    "make_waveform",
    "read_frame_counter",
    "write_audio",
    "write_clip",
]

SHAPES = ("circle", "square", "triangle")
AUDIO_KINDS = ("tone", "speech", "silence")

# Container -> (video codec, audio codec); all encoders ship with PyAV's wheels.
_CONTAINER_CODECS = {
    ".mp4": ("libx264", "aac"),
    ".mov": ("libx264", "aac"),
    ".mkv": ("libx264", "aac"),
    ".webm": ("libvpx", "libopus"),
    ".avi": ("mpeg4", "pcm_s16le"),  # libmp3lame in AVI shifts the video timestamps on reading
}
_AUDIO_CODECS = {
    ".wav": ("wav", "pcm_s16le"),
    ".flac": ("flac", "flac"),
    ".mp3": ("mp3", "libmp3lame"),
    ".ogg": ("ogg", "libopus"),
    ".m4a": ("ipod", "aac"),
}
_BAR_ROWS = 6  # height of the frame-counter bar code
# Vowel-like formant pairs (Hz) cycled through syllables.
_VOWELS = ((730.0, 1090.0), (270.0, 2290.0), (530.0, 1840.0), (570.0, 840.0), (440.0, 1020.0))


def make_waveform(
    duration_s: float = 2.0,
    *,
    sample_rate: int = 16000,
    kind: str = "tone",
    tone_hz: float = 440.0,
    amplitude: float = 0.5,
    syllable_rate_hz: float = 4.0,
    seed: int = 0,
) -> np.ndarray:
    """A mono float32 waveform in [-1, 1].

    `kind="tone"`: a sine at `tone_hz` with 10 ms fades. `kind="speech"`: a voiced, formant-shaped
    harmonic series with fundamental `tone_hz` (so it stays a class attribute), jittered pitch, and
    syllables (amplitude bursts at `syllable_rate_hz`) separated by short pauses. `"silence"`: zeros.
    """
    if kind not in AUDIO_KINDS:
        raise ValueError(f"kind must be one of {AUDIO_KINDS}, got {kind!r}")
    n = round(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    if kind == "silence" or n == 0:
        return np.zeros(n, np.float32)
    rng = np.random.default_rng(seed)
    if kind == "tone":
        wave = np.sin(2 * np.pi * tone_hz * t)
        fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)
        return (amplitude * wave * fade).astype(np.float32)
    # Speech-like: slowly wandering pitch around tone_hz, harmonics weighted by two formants.
    f0 = tone_hz * (1.0 + 0.05 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    syllable = np.floor(t * syllable_rate_hz).astype(int)
    vowels = rng.integers(0, len(_VOWELS), size=syllable.max() + 1)
    formants = np.asarray(_VOWELS)[vowels[syllable]]  # (n, 2)
    wave = np.zeros(n)
    for k in range(1, int(4000 // tone_hz) + 1):
        freq = k * f0
        gain = sum(np.exp(-0.5 * ((freq - formants[:, j]) / 120.0) ** 2) for j in range(2)) + 0.05 / k
        wave += gain * np.sin(k * phase)
    wave /= np.abs(wave).max() + 1e-9
    envelope = audio_envelope_from_syllables(t, syllable_rate_hz, rng)
    wave = wave * envelope + 0.003 * rng.standard_normal(n) * envelope
    return (amplitude * wave / (np.abs(wave).max() + 1e-9)).astype(np.float32)


def audio_envelope_from_syllables(t: np.ndarray, rate_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Syllable bursts: a raised-sine hump per syllable, about one in four silent (a pause)."""
    position = t * rate_hz
    index = np.floor(position).astype(int)
    voiced = rng.random(index.max() + 1) > 0.25
    hump = np.sin(np.pi * (position - index)) ** 2
    return hump * voiced[index]


def audio_envelope(waveform: np.ndarray, sample_rate: int, times: np.ndarray) -> np.ndarray:
    """RMS of the waveform in the 40 ms around each time (seconds), scaled to [0, 1]; drives the mouth."""
    half = max(1, int(0.04 * sample_rate / 2))
    env = np.zeros(len(times))
    for i, t in enumerate(times):
        centre = int(t * sample_rate)
        chunk = waveform[max(0, centre - half) : centre + half]
        env[i] = np.sqrt(np.mean(chunk.astype(np.float64) ** 2)) if chunk.size else 0.0
    peak = env.max() if env.size else 0.0
    return env / peak if peak > 0 else env


def _shape_mask(shape: str, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    dy, dx = yy - cy, xx - cx
    if shape == "circle":
        return dy**2 + dx**2 <= r**2
    if shape == "square":
        return (np.abs(dy) <= r * 0.9) & (np.abs(dx) <= r * 0.9)
    # Upward triangle inscribed in the radius-r circle.
    return (dy <= r * 0.5) & (dy >= -r + 1.5 * np.abs(dx) * 1.1547)


def make_frames(
    duration_s: float = 2.0,
    *,
    fps: float = 25,
    width: int = 128,
    height: int = 128,
    shape: str = "circle",
    color: Sequence[int] = (220, 170, 120),
    background: Sequence[int] | None = None,
    mouth_openness: np.ndarray | None = None,
    frame_times: Sequence[float] | None = None,
    seed: int = 0,
) -> np.ndarray:
    """RGB uint8 frames `(num_frames, height, width, 3)` of a moving face-like shape.

    The shape (`circle`/`square`/`triangle`, filled with `color`) drifts along a seeded Lissajous path
    over a vertical gradient background; two dark eyes and a mouth whose height follows
    `mouth_openness` (one value in [0, 1] per frame; closed when None). `frame_times` (seconds) replaces
    the regular `i / fps` grid. A frame counter is drawn as a binary bar code on the top rows so tests
    can tell which frame they got (`read_frame_counter`).
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    times = np.arange(round(duration_s * fps)) / fps if frame_times is None else np.asarray(frame_times, float)
    n = len(times)
    rng = np.random.default_rng(seed)
    if background is None:
        background = rng.integers(20, 90, size=3)
    top = np.asarray(background, np.float64)
    gradient = top[None, :] * np.linspace(1.0, 0.6, height)[:, None]  # (H, 3)
    base = np.broadcast_to(gradient[:, None, :], (height, width, 3)).astype(np.uint8)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.28 * min(height, width)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    openness = np.zeros(n) if mouth_openness is None else np.asarray(mouth_openness, np.float64)
    colour = np.asarray(color, np.uint8)
    eye = np.array([25, 25, 25], np.uint8)
    mouth = np.array([90, 20, 30], np.uint8)
    frames = np.empty((n, height, width, 3), np.uint8)
    bar_width = max(1, width // 16)
    for i, t in enumerate(times):
        cy = height / 2 + 0.12 * height * np.sin(2 * np.pi * 0.3 * t + phase[0])
        cx = width / 2 + 0.15 * width * np.sin(2 * np.pi * 0.2 * t + phase[1])
        frame = base.copy()
        # Draw inside the face's bounding box only (a large frame is mostly background).
        y0, y1 = max(0, int(cy - r) - 1), min(height, int(cy + r) + 2)
        x0, x1 = max(0, int(cx - r) - 1), min(width, int(cx + r) + 2)
        box, by, bx = frame[y0:y1, x0:x1], yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
        box[_shape_mask(shape, by, bx, cy, cx, r)] = colour
        for side in (-1, 1):
            box[(by - (cy - 0.25 * r)) ** 2 + (bx - (cx + side * 0.35 * r)) ** 2 <= (0.1 * r) ** 2] = eye
        open_h = 0.04 * r + 0.25 * r * float(openness[i] if i < len(openness) else 0.0)
        box[((by - (cy + 0.3 * r)) / open_h) ** 2 + ((bx - cx) / (0.35 * r)) ** 2 <= 1.0] = mouth
        for bit in range(min(16, width // bar_width)):
            frame[:_BAR_ROWS, bit * bar_width : (bit + 1) * bar_width] = 255 * ((i >> bit) & 1)
        frames[i] = frame
    return frames


def read_frame_counter(frame: np.ndarray) -> int:
    """The frame number `make_frames` drew on an RGB or BGR uint8 frame (survives lossy coding)."""
    width = frame.shape[1]
    bar_width = max(1, width // 16)
    value = 0
    for bit in range(min(16, width // bar_width)):
        patch = frame[1 : _BAR_ROWS - 1, bit * bar_width + 1 : (bit + 1) * bar_width - 1]
        if patch.size and patch.mean() > 127:
            value |= 1 << bit
    return value


def _audio_chunks(stream, waveform: np.ndarray, sample_rate: int):
    """(start time in seconds, AudioFrame) chunks of a (channels, samples) waveform, encoder-sized."""
    chunk = stream.codec_context.frame_size or 1024
    layout = "mono" if waveform.shape[0] == 1 else "stereo"
    for start in range(0, waveform.shape[1], chunk):
        part = np.ascontiguousarray(waveform[:, start : start + chunk], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = fractions.Fraction(1, sample_rate)
        yield start / sample_rate, frame


def _as_channels(waveform: np.ndarray, channels: int) -> np.ndarray:
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    wave = np.asarray(waveform, np.float32)
    if wave.ndim == 1:
        wave = wave[None]
    if channels == 2 and wave.shape[0] == 1:
        # A slightly different right channel so that downmixing is observable.
        wave = np.concatenate([wave, 0.5 * wave], axis=0)
    return wave


def write_audio(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int = 16000, *, channels: int = 1) -> Path:
    """Write a float waveform to an audio file; the codec follows the suffix (.wav .flac .mp3 .ogg .m4a)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _AUDIO_CODECS:
        raise ValueError(f"unsupported audio suffix {suffix!r}; use one of {sorted(_AUDIO_CODECS)}")
    fmt, codec = _AUDIO_CODECS[suffix]
    wave = _as_channels(waveform, channels)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=sample_rate, layout="mono" if channels == 1 else "stereo")
        for _, frame in _audio_chunks(stream, wave, sample_rate):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_clip(
    path: str | os.PathLike,
    *,
    duration_s: float = 2.0,
    fps: float = 25,
    width: int = 128,
    height: int = 128,
    sample_rate: int = 16000,
    audio: str | None = "tone",
    tone_hz: float = 440.0,
    shape: str = "circle",
    color: Sequence[int] = (220, 170, 120),
    background: Sequence[int] | None = None,
    seed: int = 0,
    channels: int = 1,
    frame_times: Sequence[float] | None = None,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    preset: str = "veryfast",
    gop_size: int | None = None,
) -> Path:
    """Write a synthetic talking-shape clip; the container follows the suffix (.mp4 .mov .mkv .webm .avi).

    `audio` is "tone", "speech", "silence" or None (no audio track). The mouth follows the audio's
    envelope. `frame_times` (seconds, increasing) writes a variable-frame-rate clip with exactly those
    presentation times instead of a constant `fps`. `gop_size` sets the key-frame interval (the
    encoder's default otherwise); `preset` is libx264's speed preset.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _CONTAINER_CODECS:
        raise ValueError(f"unsupported video suffix {suffix!r}; use one of {sorted(_CONTAINER_CODECS)}")
    default_video, default_audio = _CONTAINER_CODECS[suffix]
    video_codec = video_codec or default_video
    audio_codec = audio_codec or default_audio
    if frame_times is not None:
        times = np.asarray(frame_times, np.float64)
        if times.ndim != 1 or times.size < 2 or np.any(np.diff(times) <= 0) or times[0] < 0:
            raise ValueError("frame_times must be a 1-D, strictly increasing sequence of >= 2 times >= 0")
        duration_s = float(times[-1] + np.median(np.diff(times)))
    else:
        times = np.arange(round(duration_s * fps)) / fps
    waveform = None
    if audio is not None:
        waveform = make_waveform(duration_s, sample_rate=sample_rate, kind=audio, tone_hz=tone_hz, seed=seed)
    openness = audio_envelope(waveform, sample_rate, times) if waveform is not None else None
    frames = make_frames(
        fps=fps,
        width=width,
        height=height,
        shape=shape,
        color=color,
        background=background,
        mouth_openness=openness,
        frame_times=times,
        seed=seed,
    )
    rate = fractions.Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(video_codec, rate=rate)
        # 4:2:0 needs even sides; odd-sized clips (still valid video) use 4:4:4.
        even = width % 2 == 0 and height % 2 == 0
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p" if even else "yuv444p"
        if video_codec == "libx264":
            stream.options = {"preset": preset}
        elif video_codec == "libvpx":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}
        if gop_size is not None:
            stream.codec_context.gop_size = gop_size
        if frame_times is not None:
            time_base = fractions.Fraction(1, 90000)
            stream.codec_context.time_base = time_base
            pts = np.round(times * 90000).astype(np.int64)
        else:
            time_base = 1 / rate
            pts = np.arange(len(times))
        chunks = iter(())
        if waveform is not None:
            astream = container.add_stream(audio_codec, rate=sample_rate, layout="mono" if channels == 1 else "stereo")
            chunks = _audio_chunks(astream, _as_channels(waveform, channels), sample_rate)
        pending = next(chunks, None)
        # Interleave in time order: a badly interleaved AVI gets wrong video timestamps on reading.
        for i, image in enumerate(frames):
            while pending is not None and pending[0] <= times[i]:
                container.mux(astream.encode(pending[1]))
                pending = next(chunks, None)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = int(pts[i])
            frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        while pending is not None:
            container.mux(astream.encode(pending[1]))
            pending = next(chunks, None)
        if waveform is not None:
            container.mux(astream.encode(None))
    return path
