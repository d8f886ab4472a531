"""Decoding a time range (`start_s` / `end_s`): the same samples and frames as the whole file, cut."""

from fractions import Fraction

import numpy as np
import pytest

from social_mae_hf import InvalidInputError, MediaFile, SocialMAEProcessor, synthetic


@pytest.mark.parametrize("name", ["c25.mp4", "speech.wav"])
def test_audio_range_is_the_whole_track_cut(media, name):
    with MediaFile(media(name)) as m:
        full = m.read_audio(16000)
        duration = full.shape[1] / 16000
        # From 0 (no seek), from past the seek margin (seek), to the end, and a range running past the end.
        for start, end in [(0, 0.4), (0.7, 0.95), (duration - 0.3, None), (duration - 0.2, duration + 5)]:
            part = m.read_audio(16000, start_s=start, end_s=end)
            expected = full[:, round(start * 16000) : None if end is None else round(end * 16000)]
            np.testing.assert_array_equal(part, expected)


def test_audio_range_after_resampling_is_the_whole_track_cut(tmp_path):
    path = synthetic.write_audio(
        tmp_path / "a44.wav", synthetic.make_waveform(3.0, sample_rate=44100, kind="speech"), 44100
    )
    with MediaFile(path) as m:
        full = m.read_audio(16000)
        np.testing.assert_array_equal(m.read_audio(16000, start_s=1.7, end_s=2.5), full[:, 27200:40000])
        assert m.duration == pytest.approx(3.0)


def test_audio_range_errors_name_the_input(media):
    with MediaFile(media("speech.wav")) as m, pytest.raises(ValueError, match=r"speech\.wav: end_s .* after start_s"):
        m.read_audio(start_s=0.5, end_s=0.5)
    with MediaFile(media("speech.wav")) as m, pytest.raises(ValueError, match=r"`start_s` must be a finite"):
        m.read_audio(start_s=-1)


def test_processor_range_of_a_file_equals_the_cut_frames_and_waveform(media):
    """A window of a media file is prepared exactly as the window's frames and samples given raw."""
    path = media("c25.mp4")  # 6 s at 25 fps, speech track
    processor = SocialMAEProcessor.social_mae(image_size=32, max_length=256)
    with MediaFile(path) as m:
        frames = m.read_frames_at([Fraction(i, 25) for i in range(150)])  # every frame, RGB
        waveform = m.read_audio(16000)[0]
    windowed = processor(videos=str(path), start_s=2.0, end_s=5.0)
    # Frames shown in [2 s, 5 s) are 50..74 ... 124; samples 32000..80000.
    raw = processor(
        videos=frames[50:125], video_fps=25, audio=waveform[32000:80000], sampling_rate=16000, modalities=None
    )
    np.testing.assert_array_equal(windowed["pixel_values"].numpy(), raw["pixel_values"].numpy())
    np.testing.assert_array_equal(windowed["input_values"].numpy(), raw["input_values"].numpy())
    # And a window really is a different clip than the whole file.
    assert not np.allclose(windowed["pixel_values"].numpy(), processor(videos=str(path))["pixel_values"].numpy())

    # Decoded frames and raw waveforms take ranges too.
    ranged_raw = processor(
        videos=frames, video_fps=25, audio=waveform, sampling_rate=16000, start_s=2.0, end_s=5.0, modalities=None
    )
    np.testing.assert_array_equal(ranged_raw["pixel_values"].numpy(), raw["pixel_values"].numpy())
    np.testing.assert_array_equal(ranged_raw["input_values"].numpy(), raw["input_values"].numpy())


def test_processor_range_chooses_frames_inside_the_window(media):
    seen = {}

    def record(metadata, num_frames):
        seen["count"] = metadata.total_num_frames
        return np.arange(num_frames)

    processor = SocialMAEProcessor.social_mae(image_size=32, max_length=64)
    processor(videos=str(media("c25.mp4")), start_s=1.0, end_s=2.5, sample_indices_fn=record, modalities="video")
    assert seen["count"] == 38  # frames 25..62 are shown in [1 s, 2.5 s)


def test_processor_range_errors(media):
    processor = SocialMAEProcessor.social_mae(image_size=32, max_length=64)
    path = str(media("c25.mp4"))
    with pytest.raises(InvalidInputError, match=r"c25\.mp4\): no video frame from 7 s to 9 s \(the video has 150"):
        processor(videos=path, start_s=7, end_s=9, modalities="video")
    with pytest.raises(InvalidInputError, match=r"no audio from 7 s to 9 s"):
        processor(audio=path, start_s=7, end_s=9)
    with pytest.raises(InvalidInputError, match=r"end_s \(1\.0\) must be after start_s \(2\.0\)"):
        processor(videos=path, start_s=2, end_s=1)
    with pytest.raises(InvalidInputError, match=r"^item 1 of the batch \(.*c25\.mp4\): end_s \(1\.0\) must be after"):
        processor(videos=[path, path], start_s=[0, 2], end_s=1)  # the range's error names the file
    with pytest.raises(InvalidInputError, match=r"^the input \(.*speech\.wav\): `start_s` must be a finite"):
        processor(audio=str(media("speech.wav")), start_s=-1)
    with pytest.raises(InvalidInputError, match=r"`start_s` has 1 values for a batch of 2"):
        processor(videos=[path, path], start_s=[1.0], end_s=None)
    with pytest.raises(InvalidInputError, match=r"`start_s` must be a number of seconds"):
        processor(videos=path, start_s="1")
