"""SocialMAEProcessor: both modalities of media files, raw inputs and batches, presets, saving and loading (folders
from before the split too), audio tracks, bad inputs; and its call as transformers' processors behave."""

from __future__ import annotations

import inspect
import json
import logging
import re

import numpy as np
import PIL.Image
import pytest
import torch

from social_mae_hf.errors import InvalidInputError, MediaDecodeError, MissingModalityError
from social_mae_hf.feature_extraction_social_mae import SocialMAEFeatureExtractor
from social_mae_hf.media import MediaFile
from social_mae_hf.processing_social_mae import SocialMAEProcessor
from social_mae_hf.synthetic import make_waveform
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor


@pytest.fixture(scope="module")
def smae():
    return SocialMAEProcessor.social_mae()


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


# -- the call as transformers' processors behave ------------------------------------------------------------


@pytest.fixture(scope="module")
def processor():
    return SocialMAEProcessor.social_mae(image_size=32, max_length=64)


@pytest.fixture(scope="module")
def frames():
    return np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def wave():
    return np.random.default_rng(1).uniform(-0.5, 0.5, 16000).astype(np.float32)


def test_per_call_options_default_to_none():
    signature = inspect.signature(SocialMAEProcessor.__call__)
    for name in ("training", "missing_audio", "return_face_crop", "start_s", "audio_stream"):
        assert signature.parameters[name].default is None, name
    # transformers' options come through its kwargs (`_merge_kwargs`): not given, they are None too.
    merged = SocialMAEProcessor.social_mae()._merge_kwargs(SocialMAEProcessor.valid_processor_kwargs)
    assert "return_tensors" not in signature.parameters and "sampling_rate" not in signature.parameters
    assert not merged["audio_kwargs"] and not merged["videos_kwargs"]


def test_video_settings_are_routed_to_the_video_processor(processor, frames):
    routed = processor(videos=frames, video_fps=10, num_frames=4)["pixel_values"]
    direct = processor.video_processor(frames, video_fps=10, num_frames=4)["pixel_values"]
    assert routed.shape == (1, 4, 3, 32, 32)
    torch.testing.assert_close(routed, direct, atol=0, rtol=0)
    every = processor(videos=frames, do_sample_frames=False)["pixel_values"]
    assert every.shape == (1, 12, 3, 32, 32)
    torch.testing.assert_close(every, processor.video_processor(frames, do_sample_frames=False)["pixel_values"])
    assert processor.video_processor.num_frames == 8  # the call's settings stay in the call


def test_a_media_file_is_always_sampled(processor, media):
    with pytest.raises(InvalidInputError, match="a media file is always sampled"):
        processor(videos=str(media("c25.mp4")), do_sample_frames=False)


def test_raw_audio_without_sampling_rate_assumes_the_extractor_s_with_a_warning(processor, wave, caplog):
    with caplog.at_level(logging.WARNING):
        assumed = processor(audio=wave)["input_values"]
    assert "raw audio without `sampling_rate`; assuming the feature extractor's 16000 Hz" in caplog.text
    torch.testing.assert_close(assumed, processor(audio=wave, sampling_rate=16000)["input_values"], atol=0, rtol=0)


def test_raw_speech_names_the_new_keyword(processor, wave):
    with pytest.raises(TypeError, match=r"takes raw audio .* as `audio=`; `raw_speech=` is the feature extractor's"):
        processor(raw_speech=wave, sampling_rate=16000)


def test_a_misspelled_option_is_named_with_the_closest_one(processor, wave):
    with pytest.raises(
        TypeError, match=r"unexpected argument\(s\) 'sampling_rates' \(did you mean 'sampling_rate'\?\)"
    ):
        processor(audio=wave, sampling_rates=16000)


def test_a_save_load_round_trip_keeps_to_dict(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    assert SocialMAEProcessor.from_pretrained(tmp_path).to_dict() == processor.to_dict()
    # The file keeps its remote-code `auto_map`; saving leaves the processor as it was.
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["auto_map"] == {"AutoProcessor": "processing_social_mae.SocialMAEProcessor"}
    assert "auto_map" not in processor.to_dict()


def test_options_per_modality_are_routed_as_flat_ones(processor, frames, wave):
    flat = processor(videos=frames, video_fps=10, num_frames=4, return_tensors="np")
    nested = processor(
        videos=frames, video_fps=10, videos_kwargs={"num_frames": 4}, common_kwargs={"return_tensors": "np"}
    )
    np.testing.assert_array_equal(flat["pixel_values"], nested["pixel_values"])
    assert nested["pixel_values"].shape == (1, 4, 3, 32, 32)
    with pytest.raises(ValueError, match="num_frames was passed two times"):
        processor(videos=frames, video_fps=10, num_frames=4, videos_kwargs={"num_frames": 2})
    with pytest.raises(TypeError, match=r"\['padding'\] are not options of a call"):
        processor(audio=wave, sampling_rate=16000, text_kwargs={"padding": True})
    with pytest.raises(TypeError, match=r"\['max_length'\] are not options of a call"):
        processor(audio=wave, sampling_rate=16000, audio_kwargs={"max_length": 10})
