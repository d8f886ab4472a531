"""`SocialMAEProcessor.__call__` as transformers' processors behave: per-call video settings routed to the video
processor, `None` defaults, a missing `sampling_rate` assumed with a warning, a save/load round trip that keeps
`to_dict()`, and clear messages for the old `raw_speech=` keyword and misspelled options."""

import inspect
import logging

import numpy as np
import pytest
import torch

from social_mae_hf import InvalidInputError, SocialMAEProcessor


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
    for name in ("return_tensors", "training", "missing_audio", "return_face_crop", "sampling_rate"):
        assert signature.parameters[name].default is None, name


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
