"""Face detectors: the default (MTCNN, shipped weights) on real photographs, and the checks on any detector's output."""

from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from social_mae_hf.errors import ModelFilesError
from social_mae_hf.face_crop import FaceCropper, FaceCropSettings
from social_mae_hf.face_detection import FaceDetectorError, as_detections, build_face_detector

FIXTURES = Path(__file__).parent / "fixtures" / "face"


def photo(name: str, size: int | None = None) -> np.ndarray:
    image = PIL.Image.open(FIXTURES / name).convert("RGB")
    if size:
        image = image.resize((size, size), PIL.Image.Resampling.BILINEAR)
    return np.asarray(image)


def still_clip(picture: np.ndarray, width: int = 480, height: int = 360, at=(100, 40), count: int = 4) -> np.ndarray:
    """`count` frames of `picture` on a grey background, moving 3 px right per frame (a slow pan)."""
    frames = np.full((count, height, width, 3), 90, np.uint8)
    side_y, side_x = picture.shape[:2]
    for t in range(count):
        x, y = at[0] + 3 * t, at[1]
        frames[t, y : y + side_y, x : x + side_x] = picture
    return frames


# -- the default detector on real photographs ----------------------------------------------------------------


@pytest.mark.parametrize(("name", "size"), [("astronaut_face.png", 200), ("cameraman.png", 256)])
def test_the_default_detector_crops_on_a_real_face_frontal_and_turned(name, size):
    frames = still_clip(photo(name, size))
    cropper = FaceCropper()  # the defaults: MTCNN
    assert cropper.settings.detector == "mtcnn"
    result = cropper.crop_clip(frames)
    assert result.face_found
    # The face: the fixture's middle for the astronaut; the cameraman's head is above the middle, left of centre.
    for t, (x, y, side, _) in enumerate(result.boxes):
        face = next(f for f in result.faces if f is not None)
        cx, cy = face[0] + face[2] / 2, face[1] + face[3] / 2
        assert x <= cx <= x + side and y <= cy <= y + side
        assert 100 + 3 * t <= cx <= 100 + 3 * t + size and 40 <= cy <= 40 + size
    assert result.frames.shape[1] == result.frames.shape[2] == result.boxes[0][2]


def test_the_default_detector_finds_no_face_on_a_cat():
    result = FaceCropper().crop_clip(still_clip(photo("cat_face.png", 240)))
    assert not result.face_found
    assert result.frames.shape == (4, 360, 480, 3)


def test_mtcnn_boxes_fit_the_face_and_score_it_as_a_probability():
    boxes = build_face_detector("mtcnn")(photo("astronaut_face.png"))
    assert len(boxes) == 1
    x, y, w, h, probability = boxes[0]
    # The face fills the fixture's middle (about 33..128 px of 160 by OpenCV's cascade).
    assert abs(x + w / 2 - 80) < 12 and abs(y + h / 2 - 82) < 16 and 80 < w < 140
    assert 0.9 < probability <= 1


def test_mtcnn_settings_are_checked():
    with pytest.raises(ValueError, match="thresholds must be three probabilities"):
        build_face_detector("mtcnn", thresholds=(0.6, 2.0, 0.7))
    with pytest.raises(ValueError, match="'mtcnn' ships its own weights"):
        from social_mae_hf.face_crop import face_crop_from_options

        face_crop_from_options("mtcnn", face_detector_model=__file__)


# -- what a detector returns ---------------------------------------------------------------------------------


def test_boxes_partly_outside_the_frame_are_clipped_to_it():
    found = as_detections([(-20, 10, 60, 40, 0.9), (90, 80, 30, 40, 0.5)], 100, 100)
    np.testing.assert_allclose(found, [[0, 10, 40, 40, 0.9], [90, 80, 10, 20, 0.5]])
    np.testing.assert_allclose(as_detections([(10, -5, 20, 20)], 100, 100), [[10, 0, 20, 15, 1.0]])  # score 1


@pytest.mark.parametrize(
    ("box", "why"),
    [
        ((120, 10, 20, 20), "lies wholly outside"),
        ((-5, 10, 3, 20), "lies wholly outside"),
        ((-10, -10, 130, 150), "is larger than"),
    ],
)
def test_boxes_wholly_outside_or_larger_than_the_frame_are_refused(box, why):
    with pytest.raises(FaceDetectorError, match=rf"my detector returned the box .* which {why} the 100 x 80 frame"):
        as_detections([box], 100, 80, "my detector")


def test_a_user_detector_with_boxes_in_another_images_pixels_is_refused_naming_the_frame():
    def doubled(frame):  # answers in pixels of a frame twice as large
        return [(2 * 300, 2 * 200, 80, 80, 1.0)]

    cropper = FaceCropper(FaceCropSettings(detector="doubled"), doubled)
    with pytest.raises(FaceDetectorError, match=r"'doubled' returned the box .* frame 0 of clip\.mp4"):
        cropper.crop_clip(np.zeros((2, 360, 480, 3), np.uint8), source="clip.mp4")


def test_a_user_detector_that_raises_is_wrapped_naming_the_detector_and_the_clip():
    def broken(frame):
        raise RuntimeError("model not loaded")

    cropper = FaceCropper(FaceCropSettings(detector="broken"), broken)
    with pytest.raises(
        FaceDetectorError,
        match=r"face detector 'broken' failed on frame 0 of talk\.mp4: RuntimeError: model not loaded",
    ) as info:
        cropper.crop_clip(np.zeros((2, 64, 64, 3), np.uint8), source="talk.mp4")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_file_that_is_not_a_cascade_is_a_clear_error(tmp_path):
    bad = tmp_path / "cascade.xml"
    bad.write_text("<opencv_storage><cascade>not a cascade</cascade></opencv_storage>")
    with pytest.raises(ModelFilesError, match=r"Haar cascade .*cascade\.xml: OpenCV cannot read it as a cascade"):
        build_face_detector("haar", cascade=str(bad))
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"\x00\x01 not xml")
    with pytest.raises(ModelFilesError, match="OpenCV cannot read it as a cascade"):
        build_face_detector("haar", cascade=str(junk))
