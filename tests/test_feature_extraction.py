"""SocialMAEFeatureExtractor: the originals' fbank and normalisation, resampling, channel mixing, int16 scaling,
loading through AutoFeatureExtractor, and how far media audio is decoded."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from social_mae_hf.errors import InvalidInputError
from social_mae_hf.fbank import log_mel_fbank
from social_mae_hf.feature_extraction_social_mae import SocialMAEFeatureExtractor, resample_waveform
from social_mae_hf.media import MediaFile
from social_mae_hf.processing_social_mae import SocialMAEProcessor
from social_mae_hf.synthetic import make_waveform


@pytest.fixture(scope="module")
def smae():
    return SocialMAEProcessor.social_mae()


LOG_EPS = float(np.log(np.finfo(np.float32).eps))


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(16000, np.float32) + 0.01 * np.sin(np.arange(16000)),
        torch.zeros(2, 8000),
        (np.random.default_rng(0).standard_normal(16000) * 1000).astype(np.int16),
        np.zeros(16000, np.float64),
    ],
    ids=["float32", "torch-stereo", "int16", "float64"],
)
def test_raw_audio_kinds(smae, audio):
    out = smae(audio=audio, sampling_rate=16000)
    assert set(out) == {"input_values"} and out["input_values"].shape == (1, 1024, 128)


@pytest.mark.parametrize("preset,mean,std", [("social_mae", -6.2943, 12.26344), ("cav_mae", -5.081, 4.4849)])
def test_audio_normalisation_is_minus_mean_over_std(preset, mean, std):
    fe = getattr(SocialMAEFeatureExtractor, preset)()
    out = fe(np.zeros(16000, np.float32), sampling_rate=16000)["input_values"][0]
    n = 98  # frames of 1 s
    # Silence sits at the log(eps) floor; padding frames are zeros normalised too (not 2 * std).
    torch.testing.assert_close(out[:n], torch.full((n, 128), (LOG_EPS - mean) / std), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[n:], torch.full((1024 - n, 128), (0 - mean) / std), atol=1e-6, rtol=0)


def test_audio_equals_fbank_then_normalise():
    wave = make_waveform(12.0, kind="speech", seed=4)  # longer than 1024 frames: cropped
    extractor = SocialMAEFeatureExtractor.social_mae()
    out = extractor(wave, sampling_rate=16000)["input_values"][0]
    # The samples the 1024 frames read, minus their mean (see clip_waveform), fbank, normalise.
    feats, _ = log_mel_fbank(torch.from_numpy(wave[: extractor.max_audio_samples])[None])
    torch.testing.assert_close(out, (feats[0, :1024] - -6.2943) / 12.26344, atol=1e-6, rtol=0)
    # The originals subtract the whole waveform's mean: the same up to float rounding.
    whole, _ = log_mel_fbank(torch.from_numpy(wave)[None])
    torch.testing.assert_close(out, (whole[0, :1024] - -6.2943) / 12.26344, atol=2e-4, rtol=0)


@pytest.mark.parametrize("rate", [44100, 8000, 22050])
def test_resampling_keeps_the_frequency(rate):
    t = np.arange(rate) / rate
    wave = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = resample_waveform(wave, rate, 16000)
    assert abs(len(out) - 16000) <= 32
    spectrum = np.abs(np.fft.rfft(out[:16000] * np.hanning(len(out[:16000]))))
    peak_hz = np.argmax(spectrum) * 16000 / len(out[:16000])
    assert abs(peak_hz - 1000) <= 2


def test_resampled_input_matches_native_16k():
    extractor = SocialMAEFeatureExtractor.social_mae()
    native = make_waveform(2.0, kind="tone", tone_hz=700.0, sample_rate=16000)
    at_44k = make_waveform(2.0, kind="tone", tone_hz=700.0, sample_rate=44100)
    a = extractor(native, sampling_rate=16000)["input_values"][0, :190]
    b = extractor(at_44k, sampling_rate=44100)["input_values"][0, :190]
    loud = a > a.max() - 1.0  # the tone's bins
    assert torch.equal(a.argmax(dim=1), b.argmax(dim=1))
    torch.testing.assert_close(a[loud], b[loud], atol=0.02, rtol=0)


def test_stereo_downmix_first_or_mean():
    left = make_waveform(1.0, kind="speech", seed=1)
    right = make_waveform(1.0, kind="tone", tone_hz=300.0)
    stereo = np.stack([left, right])
    first = SocialMAEFeatureExtractor.social_mae()
    mean = SocialMAEFeatureExtractor.social_mae(audio_channel_mix="mean")
    torch.testing.assert_close(
        first(stereo, sampling_rate=16000)["input_values"],
        first(left, sampling_rate=16000)["input_values"],
        atol=0,
        rtol=0,
    )
    torch.testing.assert_close(
        mean(stereo, sampling_rate=16000)["input_values"],
        mean((left + right) / 2, sampling_rate=16000)["input_values"],
        atol=1e-4,
        rtol=0,
    )


def test_int16_is_scaled_like_torchaudio():
    extractor = SocialMAEFeatureExtractor.social_mae()
    ints = (np.random.default_rng(3).standard_normal(16000) * 3000).astype(np.int16)
    a = extractor(ints, sampling_rate=16000)["input_values"]
    b = extractor(ints.astype(np.float32) / 32768, sampling_rate=16000)["input_values"]
    torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_auto_feature_extractor_registration(tmp_path):
    from transformers import AutoConfig, AutoFeatureExtractor

    from social_mae_hf.configuration_social_mae import SocialMAEConfig

    AutoConfig.register(SocialMAEConfig.model_type, SocialMAEConfig, exist_ok=True)
    AutoFeatureExtractor.register(SocialMAEConfig, SocialMAEFeatureExtractor, exist_ok=True)
    SocialMAEConfig().save_pretrained(tmp_path)
    SocialMAEFeatureExtractor.cav_mae().save_pretrained(tmp_path)
    loaded = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert isinstance(loaded, SocialMAEFeatureExtractor)
    # Saved folders also carry the remote-code `auto_map` (for loading without the package).
    settings = loaded.to_dict()
    assert settings.pop("auto_map") == {
        "AutoFeatureExtractor": "feature_extraction_social_mae.SocialMAEFeatureExtractor"
    }
    assert settings == SocialMAEFeatureExtractor.cav_mae().to_dict()


def test_feature_extractor_alone_equals_the_processor_on_raw_audio(smae):
    wave = make_waveform(3.0, kind="speech", seed=2)
    extractor = SocialMAEFeatureExtractor.social_mae()
    alone = extractor([wave, wave[:20000]], sampling_rate=16000)
    torch.testing.assert_close(
        alone["input_values"],
        smae(audio=[wave, wave[:20000]], sampling_rate=16000)["input_values"],
        atol=0,
        rtol=0,
    )
    assert set(alone) == {"input_values"} and extractor.model_input_names == ["input_values"]
    with pytest.raises(InvalidInputError, match="unsupported audio input of type str"):
        extractor(["clip.wav"], sampling_rate=16000)  # media files are the processor's job


def test_feature_extractor_refuses_a_media_file_without_asking_for_one():
    """The feature extractor takes waveforms only: its refusal of a path or bytes must not say a path is expected,
    and points to the processor, which reads media files."""
    extractor = SocialMAEFeatureExtractor.social_mae()
    for source, kind in (("clip.wav", "str"), (b"RIFF", "bytes"), (["clip.wav"], "str")):
        with pytest.raises(InvalidInputError, match=rf"unsupported audio input of type {kind}") as refused:
            extractor(source, sampling_rate=16000)
        assert "expected a path" not in str(refused.value) and "SocialMAEProcessor" in str(refused.value)
    with pytest.raises(InvalidInputError, match=r"^`audio`: expected a waveform .* got int$"):
        extractor(3, sampling_rate=16000)


def test_long_audio_is_decoded_only_as_far_as_the_fbank_reads(monkeypatch, smae, tmp_path):
    """Memory: a long file costs its first 10.25 s; the features equal the originals' whole-waveform path up to
    float rounding (the window's mean is subtracted instead of the whole track's; each frame loses its own
    mean anyway)."""
    rate = 16000
    rng = np.random.default_rng(0)
    seconds = 40
    wave = 0.3 * np.sin(2 * np.pi * 220 * np.arange(seconds * rate) / rate) + 0.05 * rng.standard_normal(seconds * rate)
    wave = (wave + np.linspace(0.2, -0.2, wave.size)).astype(np.float32)  # a drifting DC offset: means differ
    path = tmp_path / "long.wav"
    from social_mae_hf.synthetic import write_audio

    write_audio(path, wave, rate)
    decoded_sizes = []
    read_audio = MediaFile.read_audio

    def recording(self, *args, **kwargs):
        out = read_audio(self, *args, **kwargs)
        decoded_sizes.append(out.shape[1])
        return out

    monkeypatch.setattr(MediaFile, "read_audio", recording)
    ours = smae(audio=str(path))["input_values"]
    extractor = smae.feature_extractor
    assert decoded_sizes == [extractor.max_audio_samples]

    # The originals: the whole track minus its mean, Kaldi fbank, crop, normalise.
    with MediaFile(path) as media_file:
        whole = torch.from_numpy(read_audio(media_file, rate)[0])
    assert whole.shape[0] == seconds * rate
    assert abs(float(whole.mean()) - float(whole[: extractor.max_audio_samples].mean())) > 0.1
    feats, _ = log_mel_fbank((whole - whole.mean())[None], max_frames=extractor.max_length, subtract_mean=False)
    original = (feats - extractor.mean) / extractor.std
    torch.testing.assert_close(ours, original, atol=1e-4, rtol=1e-5)


def test_raw_audio_without_sampling_rate_assumes_the_extractor_s_with_a_warning(caplog):
    extractor = SocialMAEFeatureExtractor.social_mae(max_length=64)
    wave = make_waveform(1.0, kind="speech", seed=2)
    with caplog.at_level(logging.WARNING):
        assumed = extractor(wave)["input_values"]
    assert (
        "SocialMAEFeatureExtractor: raw audio without `sampling_rate`; assuming the feature extractor's 16000 Hz"
        in (caplog.text)
    )
    torch.testing.assert_close(assumed, extractor(wave, sampling_rate=16000)["input_values"], atol=0, rtol=0)
