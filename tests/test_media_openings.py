"""Each media file is opened once per call (`av.open` counted): by the processor for audio plus frames (plus the
face crop), and by the pipeline for its length and every window; an opened `MediaFile` given to the processor
reads the same tensors as its path. Non-regular files (a FIFO) are refused instead of blocking."""

import os
from unittest import mock

import av
import pytest
import torch
from transformers import pipeline

from social_mae_hf import MediaDecodeError, MediaFile, SocialMAEProcessor
from social_mae_hf.reconstruction import reconstruct_file


@pytest.fixture
def av_opens():
    """The paths/streams `av.open` was called on for reading during the test (writing the clips is not counted)."""
    calls = []
    real = av.open

    def counting(target, *args, **kwargs):
        if (args[0] if args else kwargs.get("mode", "r")) == "r":
            calls.append(target)
        return real(target, *args, **kwargs)

    with mock.patch("av.open", counting):
        yield calls


@pytest.mark.parametrize("preset", ["social_mae", "cav_mae"])
def test_the_processor_opens_each_file_once_for_audio_and_frames(media, av_opens, preset):
    clip, other = str(media("c25.mp4")), str(media("c30.mp4"))
    processor = getattr(SocialMAEProcessor, preset)(image_size=32)
    out = processor(videos=[clip, other])
    assert set(out) == {"input_values", "pixel_values"}
    assert av_opens == [clip, other]
    av_opens.clear()
    processor(videos=clip, start_s=1.0, end_s=3.0)  # a time range seeks in the one opening
    assert av_opens == [clip]


def test_the_processor_opens_each_file_once_with_a_face_crop(media, av_opens):
    clip = str(media("c25.mp4"))
    processor = SocialMAEProcessor.social_mae(image_size=32, face_crop=True)
    out = processor(videos=clip, return_face_crop=True)
    assert {"input_values", "pixel_values", "face_found", "face_boxes"} <= set(out)
    assert av_opens == [clip]


def test_the_processor_opens_a_separate_audio_file_once(media, av_opens):
    clip, audio = str(media("c25.mp4")), str(media("speech.m4a"))
    SocialMAEProcessor.social_mae(image_size=32)(videos=clip, audio=audio)
    assert sorted(av_opens) == sorted([clip, audio])


@pytest.mark.parametrize("name", ["c25.mp4", "gop.mp4", "vfr.mp4", "one_second.webm", "one_second.mkv"])
def test_an_opened_media_file_reused_over_windows_gives_the_same_tensors(media, name, av_opens):
    path = str(media(name))
    processor = SocialMAEProcessor.social_mae(image_size=32)
    windows = [(0.0, 0.6), (0.2, 0.9), (0.5, None)]
    expected = [processor(videos=path, start_s=start, end_s=end) for start, end in windows]
    av_opens.clear()
    with MediaFile(path) as opened:
        got = [processor(videos=opened, start_s=start, end_s=end) for start, end in windows]
    # The audio of a later window is read through a new opening (exact where a seek after a pass is not).
    assert av_opens == [path] * len(windows)
    for want, have in zip(expected, got):
        for key in want:
            assert torch.equal(want[key], have[key]), key


def test_an_opened_media_file_keeps_its_audio_track(media):
    message = "audio_stream=1, but this MediaFile was opened with audio_stream=None"
    with MediaFile(str(media("c25.mp4"))) as opened, pytest.raises(ValueError, match=message):
        SocialMAEProcessor.social_mae(image_size=32)(videos=opened, audio_stream=1)


def test_the_pipeline_opens_a_file_once_for_its_length_and_every_window(converted, media, av_opens):
    clip = str(media("c25.mp4"))  # 6 s: 4 windows
    classifier = pipeline("audio-visual-classification", model=str(converted["social_mae_finetune"]))
    av_opens.clear()
    classifier(clip)
    assert av_opens == [clip]  # was 3: to measure it, then twice in the processor
    av_opens.clear()
    timeline = classifier(clip, chunk_length_s=2, stride_length_s=1.5)
    assert len(timeline) == 4
    assert av_opens == [clip] * 4  # one per window (the audio of a later one reopens): was 9
    av_opens.clear()
    classifier({"video": clip, "audio": str(media("speech.wav"))})
    assert sorted(av_opens) == sorted([clip, str(media("speech.wav"))])


def test_reconstruction_of_a_file_opens_it_once(converted, media, av_opens):
    from social_mae_hf import SocialMAEForPreTraining

    folder = converted["social_mae_pretrain"]
    model = SocialMAEForPreTraining.from_pretrained(folder).eval()
    saved = SocialMAEProcessor.from_pretrained(folder)
    processor = SocialMAEProcessor(saved.feature_extractor, saved.video_processor.with_settings(face_crop=True))
    clip = str(media("c25.mp4"))
    av_opens.clear()
    result = reconstruct_file(model, processor, clip, seed=0)
    assert result.source_frames is not None
    assert av_opens == [clip]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "stream.mp4"
    os.mkfifo(fifo)
    with pytest.raises(MediaDecodeError, match=r"stream\.mp4: is not a regular file"):
        MediaFile(fifo)
    with pytest.raises(MediaDecodeError, match="is not a regular file"):
        SocialMAEProcessor.social_mae(image_size=32)(videos=str(fifo))
