"""The face crop in use: the processor's `face_crop` setting (saved and reloaded, cropping before the resize, the
full-frame fallback), the pipelines' `face_found`, the command line's `--face-crop`, and training with it.

Box logic and detectors are tested in `test_face_crop.py`; its colour-square detector makes crops exact here, and
the real Haar cascade runs on the face fixture."""

import fractions
import json
from pathlib import Path

import av
import numpy as np
import PIL.Image
import pytest
import torch
from test_face_crop import FACE_PNG, FIXTURE_FACE, clip, colour_detector, scene

from social_mae_hf import SocialMAEProcessor, SocialMAEVideoProcessor
from social_mae_hf.errors import InvalidInputError
from social_mae_hf.face_crop import FaceCropSettings
from social_mae_hf.media import MediaFile

COLOUR = {"detector": "colour", "margin": 1.5}  # the settings recorded for the colour detector
FACE = (0, 100, 60, 40, 40)  # palette index, x, y, w, h: a 40 px "face" centred at (120, 80) in a 320 x 240 frame
CROP = (90, 50, 60, 60)  # its crop: side 1.5 x 40 around the centre


def colour_processor(preset: str = "social_mae", **settings) -> SocialMAEProcessor:
    return getattr(SocialMAEProcessor, preset)(face_crop={**COLOUR, **settings})


def face_frames(count: int = 100) -> np.ndarray:
    """`count` frames (4 s at 25 fps) with the colour "face" in each."""
    return clip([[FACE]] * count)


def write_video(path: Path, frames: np.ndarray, fps: int = 25) -> Path:
    """An h264 clip of RGB frames, without sound."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def real_face_frames(count: int, side: int = 96, x: int = 150, y: int = 60) -> tuple[np.ndarray, tuple[float, ...]]:
    """The fixture face (a real photograph) at `side` pixels on a 320 x 240 background, still; and its centre x,
    centre y and face size."""
    frame = scene(320, 240, seed=2).copy()
    face = PIL.Image.open(FACE_PNG).convert("RGB").resize((side, side), PIL.Image.Resampling.BILINEAR)
    frame[y : y + side, x : x + side] = np.asarray(face)
    return np.repeat(frame[None], count, axis=0), (x + side / 2, y + side / 2, side * FIXTURE_FACE[1])


# -- the processor ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["social_mae", "cav_mae"])
def test_the_crop_comes_before_the_resize_and_equals_cropping_by_hand(preset):
    frames = face_frames()
    processor = colour_processor(preset)
    out = processor(videos=frames, video_fps=25, return_face_crop=True, face_detector=colour_detector)
    num_frames = processor.video_processor.num_frames
    assert out["face_found"].tolist() == [True]
    assert out["face_boxes"].dtype == torch.int64 and out["face_boxes"].tolist() == [[list(CROP)] * num_frames]
    x, y, w, h = CROP
    by_hand = getattr(SocialMAEProcessor, preset)()(videos=frames[:, y : y + h, x : x + w], video_fps=25)
    torch.testing.assert_close(out["pixel_values"], by_hand["pixel_values"], atol=0, rtol=0)
    # Not the whole frame resized: the crop changed what the model sees.
    whole = getattr(SocialMAEProcessor, preset)()(videos=frames, video_fps=25)["pixel_values"]
    assert not torch.allclose(out["pixel_values"], whole)


def test_every_kind_of_decoded_video_is_cropped_alike():
    frames = face_frames()
    video = SocialMAEVideoProcessor.social_mae(face_crop=COLOUR)
    expected = video(frames, video_fps=25, face_detector=colour_detector)["pixel_values"]
    for other in (torch.from_numpy(frames), [PIL.Image.fromarray(f) for f in frames], list(frames)):
        got = video(other, video_fps=25, face_detector=colour_detector)["pixel_values"]
        torch.testing.assert_close(got, expected, atol=0, rtol=0)
    # Frames already chosen (no sampling) are cropped too.
    chosen = video(frames[:8], do_sample_frames=False, face_detector=colour_detector, return_face_crop=True)
    assert chosen["face_boxes"].tolist() == [[list(CROP)] * 8]


def test_without_a_face_the_clip_keeps_its_whole_frames_and_says_so():
    frames = clip([[]] * 100)  # no colour square
    batch = [face_frames(), frames]
    out = colour_processor()(videos=batch, video_fps=25, return_face_crop=True, face_detector=colour_detector)
    assert out["face_found"].tolist() == [True, False]
    assert out["face_boxes"][1].tolist() == [[0, 0, 320, 240]] * 8
    plain = SocialMAEProcessor.social_mae()(videos=frames, video_fps=25)["pixel_values"]
    torch.testing.assert_close(out["pixel_values"][1], plain[0], atol=0, rtol=0)
    as_numpy = colour_processor()(
        videos=batch, video_fps=25, return_face_crop=True, face_detector=colour_detector, return_tensors="np"
    )
    assert as_numpy["face_found"].tolist() == [True, False] and as_numpy["face_boxes"].dtype == np.int64


def test_a_plain_call_returns_model_inputs_only():
    """`model(**processor(...))` keeps working with a face-cropping processor: the crop report is asked for."""
    out = colour_processor()(videos=face_frames(), video_fps=25, face_detector=colour_detector)
    assert list(out) == ["pixel_values"]
    audio_only = colour_processor()(audio=np.zeros(16000, np.float32), sampling_rate=16000, return_face_crop=True)
    assert list(audio_only) == ["input_values"]  # no video, nothing cropped


def test_the_settings_are_saved_with_the_processor_and_auto_classes_reload_them(tmp_path):
    from transformers import AutoProcessor
    from transformers.models.auto.video_processing_auto import AutoVideoProcessor

    processor = SocialMAEProcessor.social_mae(face_crop={"detector": "yunet", "detector_kwargs": {"model_path": "y"}})
    expected = FaceCropSettings(detector="yunet", detector_kwargs={"model_path": "y"}).to_dict()
    assert processor.video_processor.face_crop == expected  # a plain dict, every setting spelled out
    processor.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "processor_config.json").read_text())
    assert saved["video_processor"]["face_crop"] == expected
    assert AutoProcessor.from_pretrained(tmp_path).video_processor.face_crop == expected
    assert AutoVideoProcessor.from_pretrained(tmp_path).face_crop == expected
    # Without a crop nothing is written: folders saved before the crop existed read the same.
    SocialMAEProcessor.social_mae().save_pretrained(tmp_path / "plain")
    assert "face_crop" not in json.loads((tmp_path / "plain" / "processor_config.json").read_text())["video_processor"]
    assert SocialMAEProcessor.from_pretrained(tmp_path / "plain").video_processor.face_crop is None


def test_face_crop_values_and_per_call_settings():
    assert SocialMAEVideoProcessor.social_mae(face_crop=True).face_crop == FaceCropSettings().to_dict()
    assert SocialMAEVideoProcessor.social_mae(face_crop="yunet").face_crop["detector"] == "yunet"
    assert SocialMAEVideoProcessor.social_mae(face_crop=False).face_crop is None
    assert (
        SocialMAEVideoProcessor.social_mae().face_crop is None and SocialMAEVideoProcessor.cav_mae().face_crop is None
    )
    plain = SocialMAEVideoProcessor.social_mae()
    cropping = plain.with_settings(face_crop=COLOUR)
    assert cropping.face_crop["margin"] == 1.5 and plain.face_crop is None  # a copy
    frames = face_frames()
    per_call = plain(frames, video_fps=25, face_crop=COLOUR, face_detector=colour_detector)["pixel_values"]
    torch.testing.assert_close(per_call, cropping(frames, video_fps=25, face_detector=colour_detector)["pixel_values"])
    off = cropping(frames, video_fps=25, face_crop=None)["pixel_values"]
    torch.testing.assert_close(off, plain(frames, video_fps=25)["pixel_values"], atol=0, rtol=0)


def test_bad_face_crop_settings_and_arguments_are_named():
    with pytest.raises(ValueError, match=r"SocialMAEVideoProcessor: face crop settings: margin must be a number > 0"):
        SocialMAEVideoProcessor.social_mae(face_crop={"margin": 0})
    with pytest.raises(ValueError, match="SocialMAEVideoProcessor: face_crop must be None, a bool, a detector name"):
        SocialMAEProcessor.social_mae(face_crop=1.3)
    frames = face_frames()
    with pytest.raises(ValueError, match=r"return_face_crop needs a face crop: set .*face_crop"):
        SocialMAEProcessor.social_mae()(videos=frames, video_fps=25, return_face_crop=True)
    with pytest.raises(ValueError, match=r"face_detector needs a face crop"):
        SocialMAEVideoProcessor.social_mae()(frames, video_fps=25, face_detector=colour_detector)
    with pytest.raises(ValueError, match="face_detector must be a callable, got str"):
        colour_processor()(videos=frames, video_fps=25, face_detector="colour")
    with pytest.raises(InvalidInputError, match="video_fps"):  # the usual input checks still come first
        colour_processor()(videos=frames, face_detector=colour_detector)


def test_haar_crops_a_real_face_in_a_media_file_before_the_resize(tmp_path):
    frames, (cx, cy, size) = real_face_frames(100)
    path = write_video(tmp_path / "face.mp4", frames)
    processor = SocialMAEProcessor.social_mae(face_crop="haar")
    out = processor.video_processor(str(path), return_face_crop=True, return_metadata=True)
    assert out["face_found"].tolist() == [True]
    boxes = out["face_boxes"][0]
    assert len({tuple(b) for b in boxes.tolist()}) == 1  # one still crop for the clip
    x, y, side, _ = boxes[0].tolist()
    assert abs(x + side / 2 - cx) < 0.15 * size and abs(y + side / 2 - cy) < 0.15 * size
    assert abs(side - 1.3 * size) < 0.25 * size
    # The same numbers as decoding those frames, cropping them by hand and running the plain processor.
    with MediaFile(path) as media:
        times = [fractions.Fraction(k, 25) for k in out["video_metadata"][0].frames_indices]
        decoded = media.read_frames_at(times)
    by_hand = SocialMAEVideoProcessor.social_mae()(decoded[:, y : y + side, x : x + side], do_sample_frames=False)
    torch.testing.assert_close(out["pixel_values"], by_hand["pixel_values"], atol=0, rtol=0)
    # Through the processor (one opening of the file for both modalities) the crop is the same.
    whole = processor(videos=str(path), modalities="video", return_face_crop=True)
    torch.testing.assert_close(whole["pixel_values"], out["pixel_values"], atol=0, rtol=0)
    assert torch.equal(whole["face_boxes"], out["face_boxes"])


# -- pipelines -------------------------------------------------------------------------------------------------

CLASSIFY, EMBED = "audio-visual-classification", "audio-visual-feature-extraction"


def cropping_processor(folder) -> SocialMAEProcessor:
    """The folder's own processor, cropping with the colour detector's settings."""
    processor = SocialMAEProcessor.from_pretrained(folder)
    processor.video_processor = processor.video_processor.with_settings(face_crop=COLOUR)
    return processor


def half_face_frames() -> np.ndarray:
    """6 s at 25 fps: the colour "face" in the first 3 s only."""
    return clip([[FACE]] * 75 + [[]] * 75)


def test_classification_runs_the_model_on_the_crop_and_reports_face_found(converted):
    from transformers import pipeline

    folder = converted["social_mae_finetune"]
    processor = cropping_processor(folder)
    classifier = pipeline(CLASSIFY, model=str(folder), processor=processor)
    waveform = np.sin(np.arange(6 * 16000) * 0.05).astype(np.float32)
    frames = half_face_frames()
    item = {"video": frames, "video_fps": 25, "audio": waveform, "sampling_rate": 16000}
    result = classifier(item, top_k=6, face_detector=colour_detector)
    with torch.no_grad():
        inputs = processor(
            videos=frames, video_fps=25, audio=waveform, sampling_rate=16000, face_detector=colour_detector
        )
        expected = classifier.model(**inputs).logits[0].softmax(-1)
    assert all(row["face_found"] is True for row in result)  # the window centred at 3 s sees the face
    np.testing.assert_allclose(sorted(row["score"] for row in result), sorted(expected.tolist()), rtol=1e-6)

    timeline = classifier(item, chunk_length_s=3, face_detector=colour_detector)
    assert [(w["start"], w["end"], w["face_found"]) for w in timeline] == [(0, 3, True), (3, 6, False)]
    batched = classifier([item, item], chunk_length_s=3, batch_size=3, face_detector=colour_detector)
    assert [[w["face_found"] for w in t] for t in batched] == [[True, False], [True, False]]
    # Audio alone has no frames to crop, so no face_found.
    assert "face_found" not in classifier({"audio": waveform, "sampling_rate": 16000})[0]
    # A processor without the crop gives results without face_found, and takes no detector.
    plain = pipeline(CLASSIFY, model=str(folder))
    assert "face_found" not in plain(item)[0]
    with pytest.raises(ValueError, match="face_detector needs a face-cropping processor"):
        plain(item, face_detector=colour_detector)


def test_feature_extraction_reports_face_found_per_clip_and_window(converted):
    from transformers import pipeline

    folder = converted["social_mae_pretrain"]
    embed = pipeline(EMBED, model=str(folder), processor=cropping_processor(folder))
    frames = half_face_frames()
    found = embed({"video": frames, "video_fps": 25}, face_detector=colour_detector)
    assert set(found) == {"video_embedding", "face_found"} and found["face_found"] is True
    none = embed({"video": clip([[]] * 150), "video_fps": 25}, face_detector=colour_detector, return_tensors=True)
    assert none["face_found"] is False
    timeline = embed({"video": frames, "video_fps": 25}, chunk_length_s=3, face_detector=colour_detector)
    assert [w["face_found"] for w in timeline] == [True, False]


def test_transformers_video_classification_pipeline_with_a_cropping_processor(converted, tmp_path):
    """The stock pipeline passes everything the video processor returns to the model: a folder saved with a face
    crop still gives it model inputs only, and the scores of our pipeline on the same crop."""
    import shutil

    from transformers import pipeline

    folder = tmp_path / "cropping"
    shutil.copytree(converted["social_mae_finetune"], folder)
    processor = SocialMAEProcessor.from_pretrained(folder)
    processor.video_processor = processor.video_processor.with_settings(face_crop="haar")
    processor.save_pretrained(folder)
    frames, _ = real_face_frames(150)
    path = write_video(tmp_path / "face.mp4", frames)
    stock = pipeline("video-classification", model=str(folder))
    ours = pipeline(CLASSIFY, model=str(folder))
    assert ours.processor.video_processor.face_crop["detector"] == "haar"
    got = {row["label"]: row["score"] for row in stock(str(path), top_k=6)}
    rows = ours(str(path), top_k=6, modalities="video")
    assert all(row["face_found"] for row in rows)
    assert got == pytest.approx({row["label"]: row["score"] for row in rows}, abs=1e-6)
