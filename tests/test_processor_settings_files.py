"""A settings file with a misspelled key (`num_mel_bin`) warns, naming the key and the closest known one, wherever the
key sits: in `processor_config.json` (top level or a part's entry) or in an old `preprocessor_config.json`."""

import json
import logging

import pytest

from social_mae_hf import SocialMAEFeatureExtractor, SocialMAEProcessor, SocialMAEVideoProcessor


@pytest.fixture
def saved(tmp_path):
    folder = tmp_path / "processor"
    SocialMAEProcessor.social_mae().save_pretrained(folder)
    return folder


def _edit(path, edit):
    settings = json.loads(path.read_text())
    edit(settings)
    path.write_text(json.dumps(settings))


def test_a_clean_folder_loads_without_a_warning(saved, caplog):
    with caplog.at_level(logging.WARNING):
        SocialMAEProcessor.from_pretrained(saved)
    assert "unknown setting" not in caplog.text


@pytest.mark.parametrize(
    "where,key,owner,closest",
    [
        ("feature_extractor", "num_mel_bin", "SocialMAEFeatureExtractor", "num_mel_bins"),
        ("video_processor", "num_frame", "SocialMAEVideoProcessor", "num_frames"),
        (None, "num_mel_bin", "processor_config.json", "num_mel_bins"),
    ],
)
def test_a_misspelled_key_in_processor_config_warns_with_the_closest_one(saved, caplog, where, key, owner, closest):
    def misspell(settings):
        (settings if where is None else settings[where])[key] = 64

    _edit(saved / "processor_config.json", misspell)
    with caplog.at_level(logging.WARNING):
        processor = SocialMAEProcessor.from_pretrained(saved)
    assert f"{owner}: unknown setting {key!r} is not used; did you mean {closest!r}?" in caplog.text
    assert processor.feature_extractor.num_mel_bins == 128  # nothing guessed


def test_a_setting_at_the_wrong_level_of_processor_config_is_named(saved, caplog):
    _edit(saved / "processor_config.json", lambda settings: settings.update(num_mel_bins=64))
    with caplog.at_level(logging.WARNING):
        SocialMAEProcessor.from_pretrained(saved)
    assert "['num_mel_bins'] belong under" in caplog.text


def test_a_misspelled_key_in_preprocessor_config_warns(tmp_path, caplog):
    SocialMAEFeatureExtractor.social_mae().save_pretrained(tmp_path)
    _edit(tmp_path / "preprocessor_config.json", lambda settings: settings.update(num_mel_bin=64))
    with caplog.at_level(logging.WARNING):
        SocialMAEFeatureExtractor.from_pretrained(tmp_path)
    assert "SocialMAEFeatureExtractor: unknown setting 'num_mel_bin' is not used; did you mean 'num_mel_bins'?" in (
        caplog.text
    )


def test_constructor_typos_warn_too(caplog):
    with caplog.at_level(logging.WARNING):
        SocialMAEVideoProcessor(window_second=2.0)
    assert "did you mean 'window_seconds'?" in caplog.text
