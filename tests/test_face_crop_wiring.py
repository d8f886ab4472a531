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
    # A saved model's processor with a crop added when loading it.
    added = AutoProcessor.from_pretrained(tmp_path / "plain", face_crop=True)
    assert added.video_processor.face_crop == FaceCropSettings().to_dict()
    assert not hasattr(added.feature_extractor, "face_crop")


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


# -- command line ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_clips(tmp_path_factory):
    """Talking clips whose drawn circle "face" OpenCV's Haar cascade finds, and one whose square it does not (the
    commands below name `--face-crop haar` for them: MTCNN, the default, rightly finds no face in a drawn circle)."""
    from social_mae_hf.synthetic import write_clip

    root = tmp_path_factory.mktemp("face_clips")
    return {
        "face": write_clip(root / "face.mp4", duration_s=6.0, width=160, height=120, shape="circle", audio="speech"),
        "no_face": write_clip(
            root / "no_face.mp4", duration_s=6.0, width=160, height=120, shape="square", audio="speech", seed=1
        ),
        "wide": write_clip(
            root / "wide.mp4", duration_s=6.0, width=320, height=180, shape="circle", audio="speech", seed=2
        ),
    }


def haar_processor(folder, **crop) -> SocialMAEProcessor:
    processor = SocialMAEProcessor.from_pretrained(folder)
    processor.video_processor = processor.video_processor.with_settings(face_crop={"detector": "haar", **crop})
    return processor


def test_predict_face_crop_reports_face_found_per_file_and_window(converted, face_clips, capsys):
    from transformers import pipeline

    from social_mae_hf.cli import main as cli_main

    model = str(converted["social_mae_finetune"])
    files = [str(face_clips["face"]), str(face_clips["no_face"])]
    assert cli_main(["predict", model, *files, "--face-crop", "haar", "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["file", "face", "predictions"]
    assert [line.split()[:2] for line in lines[1:]] == [[files[0], "yes"], [files[1], "no"]]
    assert "face crop: 1 of 2 file(s) without a face (whole frames used)" in captured.err

    args = ["predict", model, *files, "--format", "jsonl", "--quiet", "--top-k", "6"]
    assert cli_main([*args, "--face-crop", "haar", "--face-margin", "1.6"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r["face_found"]) for r in records] == [(files[0], True), (files[1], False)]
    assert all(set(row) == {"label", "score"} for r in records for row in r["predictions"])
    classifier = pipeline(CLASSIFY, model=model, processor=haar_processor(model, margin=1.6))
    expected = {row["label"]: row["score"] for row in classifier(files[0], top_k=6)}
    assert {row["label"]: row["score"] for row in records[0]["predictions"]} == pytest.approx(expected, abs=1e-6)
    plain = pipeline(CLASSIFY, model=model)(files[0], top_k=6)
    assert {row["label"]: row["score"] for row in plain} != pytest.approx(expected, abs=1e-6)  # the crop mattered

    assert cli_main([*args, "--face-crop", "haar", "--chunk-length-s", "3", "--batch-size", "2"]) == 0
    captured = capsys.readouterr()
    windows = [json.loads(line) for line in captured.out.splitlines()]  # one line per window
    assert [(w["file"], w["face_found"]) for w in windows] == [(files[0], True)] * 2 + [(files[1], False)] * 2
    assert "face crop: 2 of 4 window(s) without a face" in captured.err
    assert cli_main(["predict", model, files[0], "--face-crop", "haar", "--chunk-length-s", "3", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "window", "(s)", "face", "predictions"]
    assert [line.split()[1:3] for line in lines[1:]] == [["0.00-3.00", "yes"], ["3.00-6.00", "yes"]]
    # Without --face-crop nothing changes.
    assert cli_main(["predict", model, files[0], "--format", "jsonl", "--quiet"]) == 0
    assert "face_found" not in json.loads(capsys.readouterr().out)


def test_a_model_saved_with_a_face_crop_crops_unless_told_not_to(converted, face_clips, tmp_path, capsys):
    import shutil

    from social_mae_hf.cli import main as cli_main

    folder = tmp_path / "cropping"
    shutil.copytree(converted["social_mae_finetune"], folder)
    haar_processor(folder).save_pretrained(folder)
    clip_path = str(face_clips["face"])
    assert cli_main(["predict", str(folder), clip_path, "--format", "jsonl", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["face_found"] is True
    assert cli_main(["predict", str(folder), clip_path, "--format", "jsonl", "--quiet", "--face-crop", "none"]) == 0
    assert "face_found" not in json.loads(capsys.readouterr().out)


def test_embed_face_crop_writes_face_found_and_counts_clips_without_a_face(converted, face_clips, tmp_path, capsys):
    from safetensors.torch import load_file
    from transformers import pipeline

    from social_mae_hf.cli import main as cli_main

    model = str(converted["social_mae_pretrain"])
    out = tmp_path / "embeddings.safetensors"
    files = [str(face_clips["face"]), str(face_clips["no_face"])]
    assert cli_main(["embed", model, *files, "--output", str(out), "--face-crop", "haar", "--quiet"]) == 0
    assert "face crop: 1 of 2 file(s) without a face (whole frames used)" in capsys.readouterr().out
    tensors = load_file(out)
    assert tensors["face_found"].dtype == torch.bool and tensors["face_found"].tolist() == [True, False]
    expected = pipeline(EMBED, model=model, processor=haar_processor(model))(files[0], return_tensors=True)
    torch.testing.assert_close(tensors["video_embedding"][0], expected["video_embedding"])
    assert cli_main(["embed", model, files[0], "--output", str(out), "--quiet"]) == 0
    assert "face_found" not in load_file(out)


def test_reconstruct_face_crop_draws_the_crop_on_the_sampled_frames(converted, face_clips, tmp_path, capsys):
    from social_mae_hf import SocialMAEForPreTraining
    from social_mae_hf.cli import main as cli_main
    from social_mae_hf.reconstruction import CROP_COLOUR, caption, reconstruct_file, render

    folder = converted["social_mae_pretrain"]
    png = tmp_path / "face.png"
    args = ["reconstruct", str(folder), str(face_clips["wide"]), "--output", str(png), "--face-crop", "haar"]
    assert cli_main(args) == 0
    assert capsys.readouterr().out.strip().endswith("; face crop")
    assert PIL.Image.open(png).size[0] > 150 + 8 * 32  # the decoded 16:9 frames are wider than the model's

    model = SocialMAEForPreTraining.from_pretrained(folder).eval()
    result = reconstruct_file(model, haar_processor(folder), str(face_clips["wide"]))
    assert result.face_found and result.source_frames.shape == (8, 180, 320, 3)
    plain = SocialMAEProcessor.from_pretrained(folder)
    sampled = plain.video_processor(str(face_clips["wide"]), return_metadata=True)["video_metadata"][0]
    with MediaFile(face_clips["wide"]) as media:
        decoded = media.read_frames_at([fractions.Fraction(k, 25) for k in sampled.frames_indices])
    np.testing.assert_array_equal(result.source_frames, decoded)  # the frames the crop was cut from
    x, y, side, _ = result.face_boxes[0].tolist()
    image = np.asarray(render(result))
    scale = 32 / 180  # the first row is as high as the model's frames
    row = image[:32, 150 : 150 + round(320 * scale)]  # below no title, right of the labels
    red = np.all(row == CROP_COLOUR, axis=-1)
    ys, xs = np.nonzero(red)
    assert abs(xs.min() - x * scale) <= 1.5 and abs(xs.max() + 1 - (x + side) * scale) <= 1.5
    assert abs(ys.min() - y * scale) <= 1.5 and abs(ys.max() + 1 - (y + side) * scale) <= 1.5
    assert caption(result)[0].startswith("Face crop:")

    without = reconstruct_file(model, haar_processor(folder), str(face_clips["no_face"]))
    assert without.face_found is False and caption(without)[0].startswith("No face found: the model saw the full")
    assert not np.any(np.all(np.asarray(render(without))[:32] == CROP_COLOUR, axis=-1))
    assert (
        cli_main(["reconstruct", str(folder), str(face_clips["no_face"]), "--output", str(png), "--face-crop", "haar"])
        == 0
    )
    assert capsys.readouterr().out.strip().endswith("; no face: full frame")
    assert reconstruct_file(model, plain, str(face_clips["wide"])).source_frames is None  # no crop, no extra row


def test_face_crop_option_mistakes_are_one_line_errors_before_any_file_is_read(converted, face_clips, tmp_path, capsys):
    import sys

    from social_mae_hf import face_crop
    from social_mae_hf.cli import main as cli_main

    model, clip_path = str(converted["social_mae_finetune"]), str(face_clips["face"])
    cases = [
        (["--face-crop", "yunet"], "face detector 'yunet' needs its model file (--face-detector-model)"),
        (["--face-margin", "2"], "--face-margin set(s) the face crop: give --face-crop too"),
        (["--face-crop", "none", "--face-smoothing", "clip"], "which --face-crop none turns off"),
        (["--face-crop", "--face-margin", "0"], "--face-margin must be a number > 0"),
        (["--face-crop", "yunet", "--face-detector-model", str(tmp_path / "y.onnx")], "y.onnx: no such file"),
    ]
    for options, message in cases:
        assert cli_main(["predict", model, clip_path, *options, "--quiet"]) == 2, options
        error = capsys.readouterr().err
        assert message in error and len(error.strip().splitlines()) == 1, error
    (tmp_path / "y.onnx").write_text("not a model")
    command = ["embed", model, clip_path, "--output", str(tmp_path / "e.safetensors"), "--quiet"]
    assert cli_main([*command, "--face-crop", "yunet", "--face-detector-model", str(tmp_path / "y.onnx")]) == 2
    assert "OpenCV cannot load it as a YuNet model" in capsys.readouterr().err
    # Without OpenCV: what to install, before any file is read.
    face_crop._cached_cropper.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(sys.modules, "cv2", None)
            assert cli_main(["predict", model, clip_path, "--face-crop", "haar", "--quiet"]) == 2
    finally:
        face_crop._cached_cropper.cache_clear()
    captured = capsys.readouterr()
    assert captured.out == ""  # not even the table header
    assert "face crop with detector 'haar': OpenCV face detectors need OpenCV: pip install \"social-mae-hf[face]\"" in (
        captured.err
    )


# -- training --------------------------------------------------------------------------------------------------


def test_the_collator_keeps_the_crop_report_out_of_the_model_inputs():
    from social_mae_hf.training import SocialMAECollator
    from social_mae_hf.training.collator import FACES_FOUND_KEY

    processor = colour_processor()
    items = []
    for frames in (face_frames(), clip([[]] * 100), face_frames()):
        features = processor(videos=frames, video_fps=25, return_face_crop=True, face_detector=colour_detector)
        items.append({**{k: v[0] for k, v in features.items()}, "labels": 1})
    batch = SocialMAECollator()(items)
    assert set(batch) == {"pixel_values", "labels", FACES_FOUND_KEY}
    assert batch[FACES_FOUND_KEY] == [True, False, True]
    plain = SocialMAECollator()([{"pixel_values": item["pixel_values"], "labels": 1} for item in items])
    assert set(plain) == {"pixel_values", "labels"}


@pytest.fixture(scope="module")
def face_manifest(tmp_path_factory):
    """Four clips, two with the fixture's real face and two without, each with a separate audio file."""
    from social_mae_hf.synthetic import make_waveform, write_audio

    root = tmp_path_factory.mktemp("face_training")
    audio = write_audio(root / "tone.wav", make_waveform(2.0, kind="tone"))
    rows = []
    for k in range(4):
        if k % 2 == 0:
            frames = real_face_frames(16, side=96 + 8 * k, x=40 + 30 * k)[0]
        else:
            frames = np.repeat(scene(320, 240, seed=10 + k)[None], 16, axis=0)
        write_video(root / f"{k}.mp4", frames, fps=8)
        rows.append(f"{k}.mp4,{audio.name},{'face' if k % 2 == 0 else 'none'}")
    manifest = root / "clips.csv"
    manifest.write_text("video,audio,label\n" + "\n".join(rows) + "\n")
    return manifest


@pytest.mark.slow
def test_fine_tuning_with_a_face_crop_saves_it_and_counts_clips_without_a_face(face_manifest, tmp_path):
    from conftest import TRAIN_OVERRIDES, load_example
    from transformers import AutoProcessor, pipeline

    out = tmp_path / "out"
    args = ["--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES]
    args += ["--train_file", str(face_manifest), "--validation_file", str(face_manifest), "--audio_column", "audio"]
    args += ["--output_dir", str(out), "--do_train", "--do_eval", "--num_train_epochs", "1", "--save_strategy", "no"]
    args += ["--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2", "--report_to", "none"]
    args += ["--use_cpu", "--disable_tqdm", "true", "--dataloader_num_workers", "2"]
    metrics = load_example("run_finetune").main([*args, "--face_crop", "--face_margin", "1.4"])
    assert metrics["train_clips_without_face"] == 2 and metrics["train_clips_without_face_share"] == 0.5
    assert metrics["eval_clips_without_face"] == 2 and metrics["eval_clips_without_face_share"] == 0.5
    # Saved with the model, so that inference crops the same way.
    expected = FaceCropSettings(margin=1.4).to_dict()  # --face_crop alone: the default detector
    assert AutoProcessor.from_pretrained(out).video_processor.face_crop == expected
    clips = [str(face_manifest.parent / f"{k}.mp4") for k in range(2)]
    results = pipeline(CLASSIFY, model=str(out))(clips, modalities="video")
    assert [rows[0]["face_found"] for rows in results] == [True, False]


def test_the_training_scripts_take_face_crop_arguments(face_manifest, tmp_path):
    from conftest import TRAIN_OVERRIDES, load_example

    for name in ("run_finetune", "run_pretrain"):
        data_arguments = load_example(name).DataArguments
        assert data_arguments(face_crop="haar", face_margin=1.5).face_margin == 1.5
        with pytest.raises(ValueError, match="face detector 'yunet' needs its model file"):
            data_arguments(face_crop="yunet")
        with pytest.raises(ValueError, match="`face_margin` set"):
            data_arguments(face_margin=1.5)
    out = tmp_path / "pretrain"
    args = ["--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--audio_column", "audio"]
    args += ["--train_file", str(face_manifest), "--output_dir", str(out), "--do_train", "--max_steps", "1"]
    args += ["--per_device_train_batch_size", "4", "--report_to", "none", "--use_cpu", "--save_strategy", "no"]
    metrics = load_example("run_pretrain").main([*args, "--face_crop", "haar", "--disable_tqdm", "true"])
    assert metrics["train_clips_without_face"] == 2
    saved = json.loads((out / "processor_config.json").read_text())["video_processor"]["face_crop"]
    assert saved == FaceCropSettings(detector="haar").to_dict()


def test_shards_store_whole_frames_and_a_cropping_processor_crops_them_as_decoded_clips(face_clips, tmp_path):
    """Precomputed shard frames are the uncropped candidates: the crop (and its report) happens when training reads
    them, with the same result as decoding the clip's mp4."""
    from social_mae_hf.shards.reader import open_shards
    from social_mae_hf.shards.writer import ShardClip, write_split_shards
    from social_mae_hf.training import ClipTransform, ManifestColumns, ShardedClipDataset, TargetEncoder

    plain = SocialMAEProcessor.social_mae(image_size=32, max_length=64, num_frames=4)
    records = [
        ShardClip(source=f"row {i}", video=str(face_clips[name]), audio=None, target=None)
        for i, name in enumerate(("face", "no_face"))
    ]
    folder = tmp_path / "shards"
    write_split_shards(
        records,
        folder,
        "train",
        task="pretraining",
        columns=ManifestColumns(),
        precompute="frames",
        processor=plain,
        shuffle=False,
        progress=False,
    )
    cropping = SocialMAEProcessor.social_mae(image_size=32, max_length=64, num_frames=4, face_crop="haar")
    transform = ClipTransform(cropping, TargetEncoder("pretraining", (), ManifestColumns()))
    stored = list(ShardedClipDataset(open_shards(str(folder)), transform))
    assert [bool(item["face_found"]) for item in stored] == [True, False]
    for i, item in enumerate(stored):
        reference = transform.decode({"video": records[i].video}, records[i].source)
        assert bool(reference["face_found"]) == bool(item["face_found"])
        torch.testing.assert_close(item["face_boxes"], reference["face_boxes"])
        torch.testing.assert_close(item["pixel_values"], reference["pixel_values"], atol=1e-5, rtol=1e-5)


def test_a_failing_detector_in_the_video_processor_names_the_file(tmp_path):
    from social_mae_hf.face_detection import FaceDetectorError

    def broken(frame):
        raise RuntimeError("model not loaded")

    path = write_video(tmp_path / "talk.mp4", real_face_frames(20)[0])
    processor = SocialMAEProcessor.social_mae(face_crop=True)
    with pytest.raises(FaceDetectorError, match=r"failed on frame 0 of .*talk\.mp4.*: RuntimeError: model not loaded"):
        processor.video_processor([str(path)], face_detector=broken)
