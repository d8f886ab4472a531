"""Our torch fbank against two independent Kaldi implementations and against itself batched."""

from __future__ import annotations

import warnings

import kaldi_native_fbank as knf
import numpy as np
import pytest
import torch
from transformers import ASTFeatureExtractor
from transformers.audio_utils import mel_filter_bank

from social_mae_hf.fbank import fbank_num_frames, kaldi_fbank, kaldi_mel_banks, log_mel_fbank
from social_mae_hf.synthetic import make_waveform

LOG_EPS = float(np.log(np.finfo(np.float32).eps))


def signals() -> dict[str, np.ndarray]:
    t = np.arange(16000) / 16000
    return {
        "speech": make_waveform(1.0, kind="speech", tone_hz=130.0, seed=5),
        "tone": make_waveform(0.5, kind="tone", tone_hz=1234.0),
        "silence": np.zeros(8000, np.float32),
        "clipping": np.clip(3.0 * np.sign(np.sin(2 * np.pi * 220 * t)), -1, 1).astype(np.float32),
        "noise": (0.3 * np.random.default_rng(0).standard_normal(12345)).astype(np.float32),
        "few_frames": (0.1 * np.random.default_rng(1).standard_normal(720)).astype(np.float32),
    }


# Kaldi (and kaldi-native-fbank) refuse 128 bins at a 512-point FFT because the lowest triangles
# fall between FFT bins and are empty; torchaudio, which the originals used, does not check. So the
# comparison with this independent implementation runs at the most bins it accepts; the 128-bin
# output is compared with transformers' AST implementation below.
KNF_BINS = 120


def knf_fbank(wave: np.ndarray) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hanning"
    opts.frame_opts.preemph_coeff = 0.97
    opts.frame_opts.remove_dc_offset = True
    opts.frame_opts.snip_edges = True
    opts.frame_opts.round_to_power_of_two = True
    opts.frame_opts.frame_length_ms = 25
    opts.frame_opts.frame_shift_ms = 10
    opts.mel_opts.num_bins = KNF_BINS
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0  # Nyquist
    opts.mel_opts.is_librosa = False
    opts.use_energy = False
    opts.htk_compat = True
    opts.use_log_fbank = True
    opts.use_power = True
    computer = knf.OnlineFbank(opts)
    computer.accept_waveform(16000, wave.tolist())
    computer.input_finished()
    return np.stack([computer.get_frame(i) for i in range(computer.num_frames_ready)])


def assert_fbank_close(ours: np.ndarray, ref: np.ndarray) -> None:
    """1e-3 on every bin within 80 dB of its frame's loudest bin; 1e-2 on the rest.

    Bins 80+ dB down sit near the float32 eps floor, where the float32 FFT's rounding (ours and
    torchaudio's alike; AST's numpy path runs in float64) moves the log by a few 1e-3.
    """
    assert ours.shape == ref.shape
    audible = ours >= ours.max(axis=1, keepdims=True) - np.log(1e8)
    np.testing.assert_allclose(ours[audible], ref[audible], atol=1e-3, rtol=0)
    np.testing.assert_allclose(ours, ref, atol=1e-2, rtol=0)


@pytest.mark.parametrize("name", list(signals()))
def test_matches_kaldi_native_fbank(name):
    wave = signals()[name]
    ours = kaldi_fbank(torch.from_numpy(wave), num_mel_bins=KNF_BINS).numpy()
    ref = knf_fbank(wave)
    assert ours.shape == ref.shape == (fbank_num_frames(len(wave)), KNF_BINS)
    assert_fbank_close(ours, ref)


@pytest.mark.parametrize("name", list(signals()))
def test_matches_transformers_ast_numpy_fbank(name):
    # transformers' AST numpy path (used when torchaudio is missing), before its own normalisation.
    wave = signals()[name]
    with warnings.catch_warnings():  # its 128 Kaldi banks include empty ones, as ours do
        warnings.simplefilter("ignore", UserWarning)
        ast = ASTFeatureExtractor(num_mel_bins=128, max_length=2000)
    ref = ast._extract_fbank_features(wave, max_length=2000)
    ours = kaldi_fbank(torch.from_numpy(wave)).numpy()
    n = ours.shape[0]
    assert_fbank_close(ours, ref[:n])
    assert np.all(ref[n:] == 0)  # its padding, beyond the real frames


def test_silence_is_the_log_eps_floor():
    out = kaldi_fbank(torch.zeros(1, 4000))
    assert out.shape == (1, 23, 128)
    assert torch.all(out == torch.tensor(LOG_EPS, dtype=torch.float32))


def test_frame_counts_follow_snip_edges():
    assert [fbank_num_frames(n) for n in (0, 399, 400, 559, 560, 16000)] == [0, 0, 1, 1, 2, 98]
    assert kaldi_fbank(torch.zeros(399)).shape == (0, 128)  # shorter than a window: no frame
    assert kaldi_fbank(torch.randn(400)).shape == (1, 128)


def test_batched_equals_per_item_and_pads_with_exact_zeros():
    waves = [signals()["speech"], signals()["noise"][:5000], signals()["tone"]]
    lengths = [len(w) for w in waves]
    padded = torch.zeros(3, max(lengths))
    for row, w in zip(padded, waves):
        row[: len(w)] = torch.from_numpy(w)
    batched, counts = log_mel_fbank(padded, lengths)
    for i, w in enumerate(waves):
        alone, n = log_mel_fbank(torch.from_numpy(w)[None])
        assert int(counts[i]) == int(n[0]) == fbank_num_frames(len(w))
        torch.testing.assert_close(batched[i, : counts[i]], alone[0], atol=1e-5, rtol=0)
        assert torch.all(batched[i, counts[i] :] == 0)


def test_waveform_mean_subtraction_does_not_change_frames():
    # Each frame loses its own DC offset, so a constant offset on the waveform cancels.
    wave = torch.from_numpy(signals()["speech"])
    shifted, _ = log_mel_fbank((wave + 0.25)[None])
    plain = kaldi_fbank(wave[None])
    torch.testing.assert_close(shifted, plain, atol=2e-3, rtol=0)


def test_max_frames_crops_without_changing_values():
    wave = torch.from_numpy(signals()["speech"])[None]
    full = kaldi_fbank(wave)
    cropped = kaldi_fbank(wave, max_frames=10)
    assert cropped.shape == (1, 10, 128)
    # Different frame counts -> different matrix shapes -> not bit-identical on every CPU (AVX-512).
    torch.testing.assert_close(cropped, full[:, :10], atol=1e-5, rtol=1e-5)


@pytest.mark.filterwarnings("ignore:At least one mel filter")
def test_mel_banks_are_transformers_kaldi_banks_in_float32():
    ours = kaldi_mel_banks(128, 512, 16000).numpy()
    ref = mel_filter_bank(
        num_frequency_bins=257,
        num_mel_filters=128,
        min_frequency=20,
        max_frequency=8000,
        sampling_rate=16000,
        norm=None,
        mel_scale="kaldi",
        triangularize_in_mel_space=True,
    )
    assert ours.dtype == np.float32 and ours.shape == (257, 128)
    np.testing.assert_allclose(ours, ref, atol=5e-5, rtol=0)
    assert np.all(ours[-1] == 0)
