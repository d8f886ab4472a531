"""Kaldi-compatible log-mel filterbank in torch, batched and on any device.

Reproduces `torchaudio.compliance.kaldi.fbank(w, htk_compat=True, sample_frequency=16000,
use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)`, the call
both Social-MAE and CAV-MAE make, without needing torchaudio (which is not always importable).
Every step works on float32 like torchaudio does, so results agree to float rounding.
"""

from __future__ import annotations

import functools
import math

import torch

__all__ = ["fbank_num_frames", "fbank_num_samples", "kaldi_fbank", "kaldi_mel_banks", "log_mel_fbank"]

_PREEMPHASIS = 0.97
_LOW_FREQ = 20.0
# torchaudio floors the mel energies at float32 eps before the log (silence -> log(eps) = -15.9424).
_FLOOR = float(torch.finfo(torch.float32).eps)


def _frame_sizes(sample_rate: int, frame_length_ms: float, frame_shift_ms: float) -> tuple[int, int, int]:
    # Kaldi truncates the window/shift in samples and rounds the FFT size up to a power of two.
    window = int(sample_rate * frame_length_ms * 0.001)
    shift = int(sample_rate * frame_shift_ms * 0.001)
    n_fft = 1 << (window - 1).bit_length()
    return window, shift, n_fft


def fbank_num_frames(
    num_samples: int, sample_rate: int = 16000, frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0
) -> int:
    """Frames Kaldi's snip_edges framing yields: 0 when shorter than one window."""
    window, shift, _ = _frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)
    return 0 if num_samples < window else 1 + (num_samples - window) // shift


def fbank_num_samples(
    num_frames: int, sample_rate: int = 16000, frame_length_ms: float = 25.0, frame_shift_ms: float = 10.0
) -> int:
    """Samples that `num_frames` (>= 1) frames cover: later samples do not change those frames."""
    window, shift, _ = _frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)
    return window + (num_frames - 1) * shift


def _hz_to_mel(freq):
    return (
        1127.0 * (1.0 + freq / 700.0).log() if isinstance(freq, torch.Tensor) else 1127.0 * math.log(1.0 + freq / 700.0)
    )


@functools.lru_cache(maxsize=16)
def kaldi_mel_banks(num_mel_bins: int, n_fft: int, sample_rate: int, low_freq: float = _LOW_FREQ) -> torch.Tensor:
    """Kaldi's mel triangles as a `(n_fft // 2 + 1, num_mel_bins)` float32 matrix (Nyquist row zero).

    Triangles are linear in mel = 1127 ln(1 + f / 700), spaced evenly from `low_freq` to Nyquist. They
    are the banks `transformers.audio_utils.mel_filter_bank(..., norm=None, mel_scale="kaldi",
    triangularize_in_mel_space=True)` gives, but evaluated in float32 as Kaldi and torchaudio do: the
    float64 version differs by ~1e-5 per weight, which moves quiet log-mel bins by up to ~2e-4.
    """
    mel_low, mel_high = _hz_to_mel(low_freq), _hz_to_mel(sample_rate / 2)
    step = (mel_high - mel_low) / (num_mel_bins + 1)
    index = torch.arange(num_mel_bins, dtype=torch.float32)[:, None]
    left = mel_low + index * step
    centre = mel_low + (index + 1.0) * step
    right = mel_low + (index + 2.0) * step
    bin_mel = _hz_to_mel((sample_rate / n_fft) * torch.arange(n_fft // 2, dtype=torch.float32))[None, :]
    rising = (bin_mel - left) / (centre - left)
    falling = (right - bin_mel) / (right - centre)
    weights = torch.clamp_min(torch.minimum(rising, falling), 0.0)  # (mel, n_fft // 2)
    return torch.nn.functional.pad(weights, (0, 1)).T.contiguous()


@functools.lru_cache(maxsize=16)
def _constants(num_mel_bins: int, n_fft: int, sample_rate: int, window: int, device: torch.device):
    banks = kaldi_mel_banks(num_mel_bins, n_fft, sample_rate).to(device)
    # Kaldi's "hanning" is the symmetric Hann window 0.5 - 0.5 cos(2 pi n / (N - 1)).
    hann = torch.hann_window(window, periodic=False, dtype=torch.float32, device=device)
    return banks, hann


def kaldi_fbank(
    waveforms: torch.Tensor,
    *,
    sample_rate: int = 16000,
    num_mel_bins: int = 128,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
    max_frames: int | None = None,
) -> torch.Tensor:
    """Log-mel fbank of `(batch, samples)` (or `(samples,)`) float waveforms -> `(batch, frames, mel)`.

    Frames are computed independently (DC offset removal and pre-emphasis are per frame, as in
    Kaldi), so a batch of zero-padded waveforms gives each item the same frames it gets alone, up to
    that item's own frame count. Waveforms shorter than one window give 0 frames. `max_frames` stops
    early instead of computing frames that would be cropped anyway.
    """
    if waveforms.ndim == 1:
        return kaldi_fbank(
            waveforms[None],
            sample_rate=sample_rate,
            num_mel_bins=num_mel_bins,
            frame_length_ms=frame_length_ms,
            frame_shift_ms=frame_shift_ms,
            max_frames=max_frames,
        )[0]
    if waveforms.ndim != 2:
        raise ValueError(f"expected (batch, samples) waveforms, got shape {tuple(waveforms.shape)}")
    window, shift, n_fft = _frame_sizes(sample_rate, frame_length_ms, frame_shift_ms)
    x = waveforms.to(torch.float32)
    n = fbank_num_frames(x.shape[-1], sample_rate, frame_length_ms, frame_shift_ms)
    if max_frames is not None:
        n = min(n, max_frames)
    if n == 0:
        return x.new_zeros(x.shape[0], 0, num_mel_bins)
    x = x[:, : fbank_num_samples(n, sample_rate, frame_length_ms, frame_shift_ms)]
    frames = x.unfold(-1, window, shift)  # (B, n, window), a view
    frames = frames - frames.mean(dim=-1, keepdim=True)
    # Kaldi pre-emphasis inside each frame: y[i] = x[i] - 0.97 x[i-1], with x[-1] := x[0].
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    frames = frames - _PREEMPHASIS * previous
    banks, hann = _constants(num_mel_bins, n_fft, sample_rate, window, x.device)
    frames = frames * hann
    spectrum = torch.fft.rfft(frames, n=n_fft).abs().pow(2.0)  # rfft zero-pads to n_fft
    mel = torch.matmul(spectrum, banks)
    return torch.clamp_min(mel, _FLOOR).log()


def log_mel_fbank(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | list[int] | None = None,
    *,
    sample_rate: int = 16000,
    num_mel_bins: int = 128,
    max_frames: int | None = None,
    subtract_mean: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The originals' audio path: subtract each waveform's mean, then `kaldi_fbank`.

    `waveforms` is `(batch, samples)`, zero-padded on the right when `lengths` (valid samples per item)
    is given. Returns the fbank `(batch, frames, mel)` with every frame past an item's own last frame
    set to exactly 0 (what the originals' zero padding of the fbank gives), and the per-item frame
    counts. The mean subtraction cancels out in exact arithmetic (each frame loses its own mean
    anyway); it is kept so that float rounding follows the originals (`waveform - waveform.mean()`
    over the whole waveform). Pass `subtract_mean=False` when the caller did it already.
    """
    if waveforms.ndim != 2:
        raise ValueError(f"expected (batch, samples) waveforms, got shape {tuple(waveforms.shape)}")
    x = waveforms.to(torch.float32)
    batch, total = x.shape
    if lengths is None:
        lengths_t = torch.full((batch,), total, dtype=torch.long, device=x.device)
    else:
        lengths_t = torch.as_tensor(lengths, dtype=torch.long, device=x.device)
    valid = torch.arange(total, device=x.device)[None, :] < lengths_t[:, None]
    if subtract_mean:
        # torch's own mean of each item alone: the same reduction (and rounding) as the originals'.
        means = torch.stack([x[i, :n].mean() if n > 0 else x.new_zeros(()) for i, n in enumerate(lengths_t.tolist())])
        x = (x - means[:, None]) * valid
    feats = kaldi_fbank(x, sample_rate=sample_rate, num_mel_bins=num_mel_bins, max_frames=max_frames)
    counts = torch.tensor(
        [fbank_num_frames(int(length), sample_rate) for length in lengths_t.tolist()], device=x.device
    )
    if max_frames is not None:
        counts = counts.clamp_max(max_frames)
    keep = torch.arange(feats.shape[1], device=x.device)[None, :] < counts[:, None]
    return torch.where(keep[..., None], feats, feats.new_zeros(())), counts
