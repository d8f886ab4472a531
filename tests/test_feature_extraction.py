"""SocialMAEProcessor and its parts (SocialMAEFeatureExtractor: audio, SocialMAEVideoProcessor: frames): shapes,
presets, the originals' frame choice and transforms, saving and loading, bad inputs."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import numpy as np
import PIL.Image
import pytest
import torch
import torch.nn.functional as F

from social_mae_hf.errors import InvalidInputError, MediaDecodeError, MissingModalityError
from social_mae_hf.fbank import log_mel_fbank
from social_mae_hf.feature_extraction_social_mae import SocialMAEFeatureExtractor, resample_waveform
from social_mae_hf.frame_sampling import cav_mae_frame_index, social_mae_frame_indices
from social_mae_hf.media import MediaFile
from social_mae_hf.processing_social_mae import SocialMAEProcessor
from social_mae_hf.synthetic import make_waveform
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor

MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
LOG_EPS = float(np.log(np.finfo(np.float32).eps))


@pytest.fixture(scope="module")
def smae():
    return SocialMAEProcessor.social_mae()


@pytest.fixture(scope="module")
def cav():
    return SocialMAEProcessor.cav_mae()


def original_social_mae_indices(length: int, fps: float, start: int) -> list[int]:
    """The Social-MAE loader's formula, restated: interval, window, first 8, tiling of short clips."""
    interval = int(fps // 2)
    keep_n = 4 * fps
    if length < keep_n:
        start, keep_n = 0, length
    keep = list(np.arange(start, start + keep_n, interval)[:8])
    if length < 4 * fps:
        keep = (keep * (8 // len(keep) + 1))[:8]
    return [int(k) for k in keep]


def reference_social_mae_frames(bgr: np.ndarray) -> torch.Tensor:
    """ToTensor -> Resize((224, 224), BICUBIC, antialias=None: False for tensors) -> Normalize, per frame."""
    out = []
    for frame in bgr:
        x = torch.from_numpy(frame.copy()).permute(2, 0, 1).float().div(255)
        x = F.interpolate(x[None], size=(224, 224), mode="bicubic", align_corners=False, antialias=False)[0]
        out.append((x - MEAN) / STD)
    return torch.stack(out)


def decode_all_bgr(path) -> np.ndarray:
    """Every frame in decoding order, as the original's cv2 loop reads them."""
    with MediaFile(path) as m:
        info = m.video_info()
        return m.read_frames_at([Fraction(i) / info.fps for i in range(len(m.frame_times()))], "bgr")


# -- shapes and input kinds -------------------------------------------------------------------------


def test_media_file_gives_both_modalities(smae, media):
    out = smae(videos=str(media("c25.mp4")))
    assert out["input_values"].shape == (1, 1024, 128) and out["input_values"].dtype == torch.float32
    assert out["pixel_values"].shape == (1, 8, 3, 224, 224) and out["pixel_values"].dtype == torch.float32


def test_batch_of_files_bytes_and_path_agree(smae, media):
    path = media("c30.mp4")
    out = smae(videos=[path, path.read_bytes(), media("one_second.webm")], return_tensors="np")
    assert isinstance(out["pixel_values"], np.ndarray)
    assert out["pixel_values"].shape == (3, 8, 3, 224, 224) and out["input_values"].shape == (3, 1024, 128)
    np.testing.assert_array_equal(out["pixel_values"][0], out["pixel_values"][1])  # same decode, same transform
    # Two rows of one batched fbank (its matrix products are not bit-identical per row on every CPU).
    np.testing.assert_allclose(out["input_values"][0], out["input_values"][1], atol=1e-5, rtol=1e-5)


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


@pytest.mark.parametrize(
    "video",
    [
        np.zeros((20, 50, 70, 3), np.uint8),
        torch.zeros(20, 50, 70, 3, dtype=torch.uint8),
        [PIL.Image.new("RGB", (70, 50)) for _ in range(20)],
        [np.zeros((50, 70, 3), np.uint8) for _ in range(20)],
    ],
    ids=["numpy", "torch", "pil-list", "frame-list"],
)
def test_decoded_video_kinds(smae, cav, video):
    for fe, frames in ((smae, 8), (cav, 1)):
        out = fe(videos=video, video_fps=10)
        assert set(out) == {"pixel_values"} and out["pixel_values"].shape == (1, frames, 3, 224, 224)


def test_batch_of_decoded_videos_and_raw_audio(smae):
    videos = [np.zeros((20, 50, 70, 3), np.uint8), np.full((30, 40, 40, 3), 9, np.uint8)]
    audio = [np.zeros(20000, np.float32), np.zeros(3000, np.float32)]
    out = smae(videos=videos, audio=audio, sampling_rate=16000, video_fps=[10, 15])
    assert out["pixel_values"].shape == (2, 8, 3, 224, 224) and out["input_values"].shape == (2, 1024, 128)


def test_per_item_video_fps_may_leave_media_files_out(smae, media):
    """One `video_fps` per item: a media file's entry may be None (it has its own rate), as `video_metadata`'s may
    in the video processor; a decoded video left without one is named."""
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    path = media("c25.mp4")
    mixed = smae(videos=[path, frames], video_fps=[None, 10], modalities="video")["pixel_values"]
    same = smae(videos=[path, frames], video_fps=10, modalities="video")["pixel_values"]
    torch.testing.assert_close(mixed, same, atol=0, rtol=0)
    alone = smae.video_processor([path, frames], video_fps=[None, 10])["pixel_values"]
    torch.testing.assert_close(alone, same, atol=0, rtol=0)
    with pytest.raises(InvalidInputError, match=r"^item 1 of the batch: decoded frames need `video_fps`"):
        smae(videos=[path, frames], video_fps=[10, None], modalities="video")
    with pytest.raises(InvalidInputError, match=r"`video_fps` must be a positive number, got 0"):
        smae(videos=[path, frames], video_fps=[None, 0], modalities="video")


# -- presets and serialisation ----------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["social_mae", "cav_mae"])
def test_presets_round_trip(preset, tmp_path, media):
    fe = getattr(SocialMAEProcessor, preset)(image_size=112)
    fe.save_pretrained(tmp_path)
    assert (tmp_path / "processor_config.json").exists()
    loaded = SocialMAEProcessor.from_pretrained(tmp_path)
    for part in ("feature_extractor", "video_processor"):
        assert getattr(loaded, part).to_dict() == getattr(fe, part).to_dict()
    assert loaded.video_processor.output_size == (112, 112)
    for key in ("mean", "std", "audio_channel_mix", "max_length"):
        assert getattr(loaded.feature_extractor, key) == getattr(fe.feature_extractor, key)
    for key in (
        "num_frames",
        "frame_sampling",
        "size",
        "crop_size",
        "resample",
        "antialias",
        "channel_order",
        "image_mean",
        "image_std",
    ):
        assert getattr(loaded.video_processor, key) == getattr(fe.video_processor, key)
    a, b = fe(videos=media("one_second.mp4")), loaded(videos=media("one_second.mp4"))
    torch.testing.assert_close(a["pixel_values"], b["pixel_values"], atol=0, rtol=0)


def test_preset_values():
    s, c = SocialMAEProcessor.social_mae(), SocialMAEProcessor.cav_mae()
    sa, sv, ca, cv = s.feature_extractor, s.video_processor, c.feature_extractor, c.video_processor
    assert (sa.mean, sa.std, ca.mean, ca.std) == (-6.2943, 12.26344, -5.081, 4.4849)
    assert (sv.num_frames, sv.channel_order, sv.resample, sv.antialias, dict(sv.size), sv.do_center_crop) == (
        8,
        "bgr",
        PIL.Image.Resampling.BICUBIC,
        False,
        {"height": 224, "width": 224},
        False,
    )
    assert (cv.num_frames, cv.channel_order, cv.resample, dict(cv.size), dict(cv.crop_size)) == (
        1,
        "rgb",
        PIL.Image.Resampling.BILINEAR,
        {"shortest_edge": 224},
        {"height": 224, "width": 224},
    )
    assert SocialMAEFeatureExtractor().to_dict() == sa.to_dict()
    assert SocialMAEVideoProcessor().to_dict() == sv.to_dict()


# -- Social-MAE frame choice ---------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [25, 30, 24, 29.97, 15])
def test_social_mae_indices_equal_the_original_formula(fps):
    length = int(10 * fps)
    for start in (0, 1, 17, int(length - 4 * fps)):
        assert social_mae_frame_indices(length, fps, start) == original_social_mae_indices(length, fps, start)
    assert social_mae_frame_indices(250, 25, 10) == [10, 22, 34, 46, 58, 70, 82, 94]
    assert social_mae_frame_indices(300, 30, 10) == [10, 25, 40, 55, 70, 85, 100, 115]


@pytest.mark.parametrize("name,fps,start", [("c25.mp4", 25, 25), ("c30.mp4", 30, 30)])
def test_social_mae_frames_are_the_originals_frames(smae, media, name, fps, start):
    # 6 s clips: evaluation centres the window, start = (count - 4 * fps) // 2.
    bgr = decode_all_bgr(media(name))
    indices = original_social_mae_indices(len(bgr), fps, start)
    expected = reference_social_mae_frames(bgr[indices])
    out = smae(videos=media(name), modalities="video")["pixel_values"][0]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_short_clip_reads_from_zero_and_tiles(smae, media):
    bgr = decode_all_bgr(media("short.mp4"))  # 2 s at 25 fps: 50 < 100 frames
    indices = original_social_mae_indices(len(bgr), 25, start=999)
    assert indices == [0, 12, 24, 36, 48, 0, 12, 24]
    out = smae(videos=media("short.mp4"), modalities="video")["pixel_values"][0]
    torch.testing.assert_close(out, reference_social_mae_frames(bgr[indices]), atol=1e-5, rtol=0)


def test_window_centred_at_eval_random_but_reproducible_in_training(smae, media):
    path = media("c25.mp4")
    calls = {}

    def recorder(**kwargs):
        metadata = kwargs["metadata"]
        calls["meta"] = metadata
        return np.arange(8)

    smae(videos=path, modalities="video", sample_indices_fn=recorder)
    assert calls["meta"].total_num_frames == 150 and calls["meta"].fps == 25

    eval_a = smae(videos=path, modalities="video")["pixel_values"]
    eval_b = smae(videos=path, modalities="video")["pixel_values"]
    torch.testing.assert_close(eval_a, eval_b, atol=0, rtol=0)

    def train(seed):
        g = torch.Generator().manual_seed(seed)
        return smae(videos=path, modalities="video", training=True, generator=g)["pixel_values"]

    torch.testing.assert_close(train(3), train(3), atol=0, rtol=0)
    draws = [train(seed) for seed in range(4)]
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
    # Every random window is one the original could draw: start in [0, 150 - 100].
    bgr = decode_all_bgr(path)
    g = torch.Generator().manual_seed(11)
    start = int(torch.randint(0, 51, (1,), generator=torch.Generator().manual_seed(11)).item())
    out = smae(videos=path, modalities="video", training=True, generator=g)["pixel_values"][0]
    expected = reference_social_mae_frames(bgr[original_social_mae_indices(150, 25, start)])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_sample_indices_fn_overrides_the_preset(smae, media):
    bgr = decode_all_bgr(media("c25.mp4"))
    out = smae(
        videos=media("c25.mp4"),
        modalities="video",
        sample_indices_fn=lambda metadata, num_frames: np.arange(num_frames) * 3,
    )["pixel_values"][0]
    torch.testing.assert_close(out, reference_social_mae_frames(bgr[np.arange(8) * 3]), atol=1e-5, rtol=0)
    with pytest.raises(InvalidInputError, match="must return 8 integer indices"):
        smae(videos=media("c25.mp4"), modalities="video", sample_indices_fn=lambda **_: [0, 1])
    with pytest.raises(InvalidInputError, match="outside"):
        smae(videos=media("c25.mp4"), modalities="video", sample_indices_fn=lambda **_: np.arange(8) + 500)


def test_decoded_frames_use_the_same_indices(smae):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (150, 36, 52, 3), dtype=np.uint8)  # RGB
    out = smae(videos=video, video_fps=25)["pixel_values"][0]
    expected = reference_social_mae_frames(video[original_social_mae_indices(150, 25, 25)][..., ::-1])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


# -- frame transforms ------------------------------------------------------------------------------------


def test_bgr_is_a_channel_flip_of_rgb(media):
    bgr = SocialMAEVideoProcessor.social_mae(do_normalize=False)
    rgb = SocialMAEVideoProcessor.social_mae(do_normalize=False, channel_order="rgb")
    a = bgr(media("c25.mp4"))["pixel_values"]
    b = rgb(media("c25.mp4"))["pixel_values"]
    # Different inputs to the resize (the channel planes swapped): equal up to float32 rounding.
    torch.testing.assert_close(a, b.flip(2), atol=1e-5, rtol=1e-5)
    assert (a - b).abs().max() > 0.1


@pytest.mark.parametrize("antialias", [False, True])
def test_stretch_resize_is_float_bicubic_interpolate(antialias):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)  # odd sizes must work
    fe = SocialMAEVideoProcessor.social_mae(num_frames=1, antialias=antialias)
    out = fe(frame[None], video_fps=1)["pixel_values"][0, 0]
    x = torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1).float() / 255
    x = F.interpolate(x[None], size=(224, 224), mode="bicubic", align_corners=False, antialias=antialias)[0]
    torch.testing.assert_close(out, (x - MEAN) / STD, atol=1e-6, rtol=0)
    assert out.max() > (1 - 0.406) / 0.225 or out.min() < -0.485 / 0.229 or antialias  # no clamping


@pytest.mark.parametrize("size", [(240, 320), (321, 241), (224, 300)])
def test_cav_mae_matches_pil_resize_and_centre_crop(cav, size):
    h, w = size
    frame = np.random.default_rng(2).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = cav(videos=frame[None], video_fps=1)["pixel_values"][0, 0]
    image = PIL.Image.fromarray(frame)
    short, long = min(w, h), max(w, h)
    new = (224, int(224 * long / short)) if w <= h else (int(224 * long / short), 224)
    image = image.resize(new, PIL.Image.Resampling.BILINEAR) if new != (w, h) else image
    left, top = round((new[0] - 224) / 2), round((new[1] - 224) / 2)
    ref = torch.from_numpy(np.asarray(image.crop((left, top, left + 224, top + 224))).copy())
    ref = (ref.permute(2, 0, 1).float() / 255 - MEAN) / STD
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)


def test_cav_mae_frame_choice(cav, media):
    assert cav_mae_frame_index(250, 25, 5) == 124  # 10 s at 25 fps: frame_5 is frame 124 (off by one)
    assert cav_mae_frame_index(1000, 25, 5) == 124  # only the first 10 s count
    assert cav_mae_frame_index(75, 30, 5) == 36
    assert cav_mae_frame_index(75, 30, 0) == 0
    # End to end on a 6 s clip: 150 frames, slot 5 -> int(5 * 15.0) - 1 = 74.
    rgb = decode_all_bgr(media("c25.mp4"))[..., ::-1]
    out = cav(videos=media("c25.mp4"), modalities="video")["pixel_values"]
    ref = cav(videos=rgb[74:75].copy(), video_fps=25, sample_indices_fn=lambda **_: np.array([0]))
    torch.testing.assert_close(out, ref["pixel_values"], atol=0, rtol=0)
    slots = set()
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        px = cav(videos=rgb.copy(), video_fps=25, training=True, generator=g)["pixel_values"]
        slots.add(px.sum().item())
    assert len(slots) > 3  # random slots in training


def test_odd_sized_video_file_works(smae, media):
    out = smae(videos=media("odd.mp4"))
    assert out["pixel_values"].shape == (1, 8, 3, 224, 224)


# -- audio ---------------------------------------------------------------------------------------------


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


def test_audio_argument_replaces_the_videos_track(smae, media):
    wave = make_waveform(3.0, kind="tone", tone_hz=500.0)
    both = smae(videos=media("c25.mp4"), audio=wave, sampling_rate=16000)
    alone = smae(audio=wave, sampling_rate=16000)
    torch.testing.assert_close(both["input_values"], alone["input_values"], atol=0, rtol=0)
    # A video file passed as `audio` gives its track, as when passed as `videos`.
    from_audio = smae(audio=media("c25.mp4"))["input_values"]
    from_video = smae(videos=media("c25.mp4"))["input_values"]
    torch.testing.assert_close(from_audio, from_video, atol=0, rtol=0)


def test_audio_stream_picks_a_track_of_the_audio_files_not_of_the_videos(smae, media, tmp_path):
    """With `audio=` files beside `videos=` files, `audio_stream` names a track of the audio files; the videos'
    own tracks are not read, so a video with fewer tracks than that index is no error."""
    from test_media import tone, write_audio_tracks

    tracks = [("flac", "mono", tone(300)[None], True), ("flac", "mono", tone(900)[None], False)]
    audio = str(write_audio_tracks(tmp_path / "two_tracks.mkv", tracks))
    video = media("c25.mp4")  # one audio track
    with MediaFile(video) as m:
        assert len(m.audio_tracks()) == 1
    both = smae(videos=video, audio=audio, audio_stream=1)
    torch.testing.assert_close(both["input_values"], smae(audio=audio, audio_stream=1)["input_values"], atol=0, rtol=0)
    assert not torch.equal(both["input_values"], smae(audio=audio)["input_values"])  # track 1, not the default
    frames = smae(videos=video, modalities="video")["pixel_values"]
    torch.testing.assert_close(both["pixel_values"], frames, atol=0, rtol=0)


def test_audio_files(smae, media):
    for name in ("speech.wav", "speech.flac", "speech.mp3", "speech.ogg", "speech.m4a"):
        assert smae(audio=media(name))["input_values"].shape == (1, 1024, 128)


# -- missing modalities --------------------------------------------------------------------------------


def test_missing_audio_track(smae, media):
    with pytest.raises(MissingModalityError, match=r"noaudio\.mp4.*modalities='video'"):
        smae(videos=media("noaudio.mp4"))
    assert set(smae(videos=media("noaudio.mp4"), modalities="video")) == {"pixel_values"}
    assert set(smae(videos=media("noaudio.mp4"), missing_audio="drop")) == {"pixel_values"}
    with pytest.raises(MissingModalityError, match=r"item 1 of the batch \(.*noaudio\.mp4\)"):
        smae(videos=[media("one_second.mp4"), media("noaudio.mp4")], missing_audio="drop")
    # Decoded frames have no audio track either: a batch mixing them with files names them.
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    with pytest.raises(MissingModalityError, match=r"no audio track in item 1 of the batch;"):
        smae(videos=[media("one_second.mp4"), frames], video_fps=10)
    out = smae(videos=[media("one_second.mp4"), frames], video_fps=10, modalities="video")
    assert set(out) == {"pixel_values"}


def test_missing_audio_drop_never_leaves_nothing(smae, media):
    """missing_audio='drop' falls back to video only; where no video is asked for (an audio input alone, or
    modalities='audio'), a file without an audio track is an error, not an empty output. The hint then offers
    no video fallback."""
    silent = media("noaudio.mp4")
    for kwargs in (dict(audio=silent), dict(videos=silent, modalities="audio")):
        for missing_audio in ("error", "drop"):
            with pytest.raises(MissingModalityError, match=r"^no audio track in the input \(.*noaudio\.mp4\)") as err:
                smae(**kwargs, missing_audio=missing_audio)
            assert "modalities='video'" not in str(err.value) and "every item or none" not in str(err.value)
    assert set(smae(videos=silent, audio=silent, missing_audio="drop")) == {"pixel_values"}


def test_a_batch_where_only_some_items_lack_audio_is_not_told_to_drop_it(smae, media):
    """missing_audio='drop' refuses a batch where only some items lack audio, so the hint for that batch offers
    modalities='video' alone, whichever missing_audio was given."""
    batch = [media("one_second.mp4"), media("noaudio.mp4")]
    for missing_audio in ("error", "drop"):
        with pytest.raises(MissingModalityError, match=r"^no audio track in item 1 of the batch \(.*noaudio") as err:
            smae(videos=batch, missing_audio=missing_audio)
        assert "pass modalities='video' for video only" in str(err.value)
        assert "or missing_audio='drop'" not in str(err.value)


# -- bad inputs ------------------------------------------------------------------------------------------


def bad_cases(media, tmp_path):
    text = tmp_path / "readme.txt"
    text.write_text("hello\n" * 50)
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(media("one_second.mp4").read_bytes()[:2500])
    zero_frames = tmp_path / "zero_frames.mkv"
    _write_audio_with_empty_video(zero_frames)
    ok_audio = np.zeros(16000, np.float32)
    nan_audio = ok_audio.copy()
    nan_audio[5] = np.nan
    inf_audio = ok_audio.copy()
    inf_audio[7] = np.inf
    video = np.zeros((10, 32, 32, 3), np.uint8)
    return [
        (dict(videos=tmp_path / "missing.mp4"), MediaDecodeError, r"missing\.mp4\): no such file"),
        (dict(videos=tmp_path), MediaDecodeError, "is a directory"),
        (dict(videos=text), MediaDecodeError, r"readme\.txt\): (cannot be opened|is a text file)"),
        (dict(videos=truncated), MediaDecodeError, r"cut\.mp4"),
        (dict(videos=media("speech.wav")), MissingModalityError, r"speech\.wav.*no video stream"),
        (dict(videos=zero_frames, modalities="video"), MediaDecodeError, r"zero_frames\.mkv.*no .*frames"),
        (dict(audio=np.zeros(0, np.float32), sampling_rate=16000), InvalidInputError, "zero-length audio"),
        (dict(audio=np.zeros(300, np.float32), sampling_rate=16000), InvalidInputError, "too short: 300"),
        (dict(audio=nan_audio, sampling_rate=16000), InvalidInputError, "NaN or infinite"),
        (dict(audio=inf_audio, sampling_rate=16000), InvalidInputError, "NaN or infinite"),
        (dict(audio=ok_audio, sampling_rate=16000.0), InvalidInputError, "must be an int"),
        (dict(audio=ok_audio, sampling_rate="16k"), InvalidInputError, "must be an int"),
        (dict(audio=ok_audio, sampling_rate=0), InvalidInputError, "must be positive"),
        (dict(audio=ok_audio, sampling_rate=-8000), InvalidInputError, "must be positive"),
        (
            dict(audio=np.full(16000, 15000.0, np.float32), sampling_rate=16000),
            InvalidInputError,
            "expected \\[-1, 1\\]",
        ),
        (dict(audio=np.zeros((16000, 2), np.float32), sampling_rate=16000), InvalidInputError, "transpose"),
        (dict(audio=np.zeros(16000, np.int32), sampling_rate=16000), InvalidInputError, "float or int16"),
        (dict(videos=np.zeros((10, 32, 32), np.uint8), video_fps=10), InvalidInputError, "expected a path"),
        (
            dict(videos=np.zeros((10, 32, 32, 4), np.uint8), video_fps=10),
            InvalidInputError,
            "height, width, 3",
        ),
        (dict(videos=video.astype(np.float32), video_fps=10), InvalidInputError, "uint8"),
        (dict(videos=np.zeros((0, 32, 32, 3), np.uint8), video_fps=10), InvalidInputError, "0 frames"),
        (
            dict(videos=np.zeros((5, 1, 1, 3), np.uint8), video_fps=10),
            InvalidInputError,
            "1x1; need at least",
        ),
        (dict(videos=video), InvalidInputError, "need `video_fps`"),
        (dict(videos=video, video_fps=0), InvalidInputError, "positive number"),
        (dict(videos=[PIL.Image.new("L", (32, 32))], video_fps=10), InvalidInputError, "mode L, need RGB"),
        (dict(videos=[video, video[:, :20]], video_fps=10, modalities="video"), None, None),
        (
            dict(videos=[media("one_second.mp4"), tmp_path / "gone.mp4"]),
            MediaDecodeError,
            r"item 1 of the batch \(.*gone\.mp4\): no such file",
        ),
        (
            dict(audio=[ok_audio, ok_audio, nan_audio], sampling_rate=16000),
            InvalidInputError,
            "item 2 of the batch: audio contains NaN",
        ),
        (
            dict(videos=[video, video], audio=[ok_audio], sampling_rate=16000, video_fps=10),
            InvalidInputError,
            "has 2 items but `audio` has 1",
        ),
        (dict(), InvalidInputError, "give `videos`, `audio` or both"),
    ]


def _write_audio_with_empty_video(path):
    """A Matroska file with a declared video stream that holds no frame, and one second of audio."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for i in range(16):
            frame.pts = i * 1024
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))


def test_bad_inputs_raise_naming_the_input(smae, media, tmp_path):
    for kwargs, error, pattern in bad_cases(media, tmp_path):
        if error is None:  # a valid batch: frames of different sizes are resized alike
            assert smae(**kwargs)["pixel_values"].shape == (2, 8, 3, 224, 224)
            continue
        with pytest.raises(error, match=pattern):
            smae(**kwargs)
        assert issubclass(error, ValueError)


def test_one_by_one_video_file_is_rejected(smae, tmp_path):
    import av

    path = tmp_path / "tiny.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1, 1, "yuv444p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidInputError, match=re.escape("tiny.mp4): frames are 1x1")):
        smae(videos=path, modalities="video")


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


def test_bad_input_checks_of_issue_8(smae):
    """Absurd values get one-line errors naming the input, not tracebacks from deeper down."""
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    with pytest.raises(InvalidInputError, match=r"`video_fps` must be a finite number .* got inf"):
        smae(videos=frames, video_fps=float("inf"))
    with pytest.raises(InvalidInputError, match=r"^the input: an empty list of frames"):
        smae(videos=[[]], video_fps=10)
    with pytest.raises(InvalidInputError, match=r"^item 1 of the batch: an empty list of frames"):
        smae(videos=[frames, []], video_fps=10)
    with pytest.raises(InvalidInputError, match=r"`sampling_rate` 1000000000 Hz is above 768000 Hz"):
        smae(audio=np.zeros(16000, np.float32), sampling_rate=10**9)
    assert smae(audio=np.zeros(76_800, np.float32), sampling_rate=768_000)["input_values"].shape == (1, 1024, 128)


# -- the parts on their own --------------------------------------------------------------------------------


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


def test_video_processor_alone_follows_transformers_conventions(smae, media):
    """Decoded frames with `video_metadata` (or `video_fps`), `sample_frames` as `sample_indices_fn`, media paths,
    `return_metadata` with the chosen `frames_indices`, and per-call settings."""
    from transformers.video_utils import VideoMetadata

    processor = SocialMAEVideoProcessor.social_mae()
    frames = np.random.default_rng(0).integers(0, 256, (150, 36, 52, 3), dtype=np.uint8)
    by_fps = processor(frames, video_fps=25)
    by_metadata = processor(frames, video_metadata={"fps": 25, "total_num_frames": 150}, return_metadata=True)
    torch.testing.assert_close(by_fps["pixel_values"], by_metadata["pixel_values"], atol=0, rtol=0)
    torch.testing.assert_close(
        by_fps["pixel_values"], smae(videos=frames, video_fps=25)["pixel_values"], atol=0, rtol=0
    )
    assert by_metadata["video_metadata"][0].frames_indices == original_social_mae_indices(150, 25, 25)
    indices = processor.sample_frames(VideoMetadata(total_num_frames=150, fps=25.0))
    assert indices.tolist() == original_social_mae_indices(150, 25, 25)
    # Already chosen frames go through as they are.
    chosen = processor(frames[indices], do_sample_frames=False)["pixel_values"]
    torch.testing.assert_close(chosen, by_fps["pixel_values"], atol=0, rtol=0)
    # A media path is decoded and sampled as the processor does it; settings can change per call.
    from_path = processor(str(media("c25.mp4")), num_frames=4)["pixel_values"]
    assert from_path.shape == (1, 4, 3, 224, 224)
    full = smae(videos=media("c25.mp4"), modalities="video")["pixel_values"]
    torch.testing.assert_close(from_path[0], full[0, :4], atol=0, rtol=0)
    with pytest.raises(InvalidInputError, match="need `video_fps`"):
        processor(frames)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['colour'\]"):
        processor(frames, video_fps=25, colour="red")
    with pytest.raises(ValueError, match="return_tensors must be 'pt' or 'np'"):  # refused before any decoding
        processor(str(media("c25.mp4")) + ".missing", return_tensors="tf")
    with pytest.raises(InvalidInputError, match=r"^give `videos`"):  # as the feature extractor refuses no audio
        processor(None)


def test_processor_settings_go_to_their_part():
    processor = SocialMAEProcessor.cav_mae(image_size=64, max_length=128, num_frames=2, std=3.0)
    assert processor.video_processor.output_size == (64, 64) and processor.video_processor.num_frames == 2
    assert (processor.feature_extractor.max_length, processor.feature_extractor.std) == (128, 3.0)
    with pytest.raises(ValueError, match=r"\['do_normalize'\] is a setting of both"):
        SocialMAEProcessor.social_mae(do_normalize=False)
    with pytest.raises(TypeError, match=r"unknown setting\(s\) \['colour'\]"):
        SocialMAEProcessor.social_mae(colour="red")
    with pytest.raises(TypeError, match="video_processor must be a VideoProcessorMixin"):
        SocialMAEProcessor(SocialMAEFeatureExtractor(), SocialMAEFeatureExtractor())


# -- saving and loading -------------------------------------------------------------------------------------


def test_processor_saves_both_parts_and_auto_classes_load_them(tmp_path, media):
    from transformers import AutoConfig, AutoFeatureExtractor, AutoProcessor
    from transformers.models.auto.video_processing_auto import AutoVideoProcessor

    from social_mae_hf.configuration_social_mae import SocialMAEConfig

    SocialMAEConfig.cav_mae().save_pretrained(tmp_path)
    saved = SocialMAEProcessor.cav_mae(image_size=96, max_length=256)
    saved.save_pretrained(tmp_path)
    settings = json.loads((tmp_path / "processor_config.json").read_text())
    assert settings["processor_class"] == "SocialMAEProcessor"
    assert settings["feature_extractor"]["max_length"] == 256
    assert settings["video_processor"]["crop_size"] == {"height": 96, "width": 96}
    assert AutoConfig.from_pretrained(tmp_path).model_type == "social-mae"
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(processor) is SocialMAEProcessor
    assert type(AutoFeatureExtractor.from_pretrained(tmp_path)) is SocialMAEFeatureExtractor
    video = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(video) is SocialMAEVideoProcessor and video.output_size == (96, 96)
    a, b = saved(videos=media("c25.mp4")), processor(videos=media("c25.mp4"))
    for key in ("input_values", "pixel_values"):
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0)


# What `SocialMAEFeatureExtractor.cav_mae(image_size=112, max_length=256).save_pretrained(folder)` wrote before
# the processor split: one file with every setting, in the former names.
LEGACY_PREPROCESSOR_CONFIG = {
    "antialias": True,
    "audio_channel_mix": "first",
    "audio_mean": -5.081,
    "audio_std": 4.4849,
    "auto_map": {"AutoFeatureExtractor": "feature_extraction_social_mae.SocialMAEFeatureExtractor"},
    "channel_order": "rgb",
    "do_normalize_audio": True,
    "do_normalize_video": True,
    "feature_extractor_type": "SocialMAEFeatureExtractor",
    "frame_sampling": "spread",
    "image_mean": [0.485, 0.456, 0.406],
    "image_size": 112,
    "image_std": [0.229, 0.224, 0.225],
    "max_length": 256,
    "num_frames": 1,
    "num_mel_bins": 128,
    "resample": "bilinear",
    "resize_mode": "shorter_side_center_crop",
    "sample_fps": 2.0,
    "sampling_rate": 16000,
    "spread_seconds": 10.0,
    "spread_slots": 10,
    "window_seconds": 4.0,
}


def test_folders_saved_before_the_split_keep_loading(tmp_path, media):
    from transformers import AutoFeatureExtractor, AutoProcessor
    from transformers.models.auto.video_processing_auto import AutoVideoProcessor

    from social_mae_hf.configuration_social_mae import SocialMAEConfig

    SocialMAEConfig.cav_mae(image_size=112, audio_length=256).save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(LEGACY_PREPROCESSOR_CONFIG))
    expected = SocialMAEProcessor.cav_mae(image_size=112, max_length=256)

    extractor = AutoFeatureExtractor.from_pretrained(tmp_path)
    assert type(extractor) is SocialMAEFeatureExtractor
    settings = extractor.to_dict()
    assert settings.pop("auto_map") == LEGACY_PREPROCESSOR_CONFIG["auto_map"]
    assert settings == expected.feature_extractor.to_dict()  # audio settings only, in their new names
    video = AutoVideoProcessor.from_pretrained(tmp_path)
    assert type(video) is SocialMAEVideoProcessor and video.to_dict() == expected.video_processor.to_dict()
    processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(processor) is SocialMAEProcessor
    assert processor.video_processor.to_dict() == expected.video_processor.to_dict()
    a, b = expected(videos=media("c25.mp4")), processor(videos=media("c25.mp4"))
    for key in ("input_values", "pixel_values"):
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0)
    # Saving it again writes the new layout, which loads the same.
    processor.save_pretrained(tmp_path / "again")
    again = SocialMAEProcessor.from_pretrained(tmp_path / "again")
    assert again.video_processor.to_dict() == processor.video_processor.to_dict()


def test_a_feature_extractor_file_alone_is_not_taken_for_video_settings(tmp_path):
    from social_mae_hf.configuration_social_mae import SocialMAEConfig

    SocialMAEConfig.cav_mae().save_pretrained(tmp_path)
    SocialMAEFeatureExtractor.cav_mae().save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"got the settings of a SocialMAEFeatureExtractor \(audio only\)"):
        SocialMAEProcessor.from_pretrained(tmp_path)


def test_processor_reads_the_chosen_audio_track_and_warns_when_it_is_silent(tmp_path, caplog):
    """A 5.1 voice in the centre channel is silence with the originals' first channel: the processor says so,
    and `audio_stream` / `audio_channel_mix="downmix"` (MediaFile's options) reach it."""
    from test_media import tone, write_audio_tracks

    voice = make_waveform(1.0, kind="speech", seed=5)
    centre = np.zeros((6, len(voice)), np.float32)
    centre[2] = voice
    path = str(
        write_audio_tracks(
            tmp_path / "tracks.mkv", [("flac", "mono", tone(300)[None], True), ("flac", "5.1", centre, False)]
        )
    )
    first = SocialMAEProcessor.social_mae()
    downmix = SocialMAEProcessor(
        SocialMAEFeatureExtractor.social_mae(audio_channel_mix="downmix"), SocialMAEVideoProcessor.social_mae()
    )
    logger = "social_mae_hf.processing_social_mae"
    with caplog.at_level("WARNING", logger=logger):
        default_track = first(audio=path)["input_values"]
        assert not caplog.records  # the default-flagged track: the tone
        first(audio=path, audio_stream=1)
    [record] = caplog.records
    assert re.search(
        r"tracks\.mkv\): its audio is silent .* audio track 1 of 2 \(5\.1\), audio_channel_mix='first'",
        record.getMessage(),
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger=logger):
        mixed = downmix(audio=path, audio_stream=1)["input_values"]
    assert not caplog.records
    with MediaFile(path, audio_stream=1) as m:
        samples = m.read_audio(16000, channel_mix="downmix")[0]
    expected = downmix.feature_extractor(samples, sampling_rate=16000)["input_values"]
    torch.testing.assert_close(mixed, expected, atol=0, rtol=0)  # the same samples, the same computation
    assert not torch.equal(mixed, default_track)
    # Raw multichannel arrays take the same mixes.
    raw = downmix.feature_extractor(centre, sampling_rate=16000)["input_values"]
    assert raw.shape == (1, 1024, 128) and raw.std() > 0.1
    with pytest.raises(InvalidInputError, match=r"`audio_stream` has 1 values for a batch of 2"):
        first(audio=[path, path], audio_stream=[1])


def test_frames_are_resized_one_at_a_time(monkeypatch, smae, media):
    """Memory: each frame goes to float32 and to its size alone (8 frames of 4K video are 800 MB as float32)."""
    resized = []
    interpolate = F.interpolate

    def recording(x, **kwargs):
        resized.append(tuple(x.shape))
        return interpolate(x, **kwargs)

    monkeypatch.setattr(F, "interpolate", recording)
    out = smae(videos=media("odd.mp4"), modalities="video")["pixel_values"]
    assert out.shape == (1, 8, 3, 224, 224)
    assert resized == [(1, 3, 241, 321)] * 8


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
