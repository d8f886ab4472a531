"""Face-centred crops: box logic with a deterministic detector, settings, and OpenCV's detectors on a real face."""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from social_mae_hf import face_crop
from social_mae_hf.errors import InvalidInputError, ModelFilesError
from social_mae_hf.face_crop import (
    FaceCropper,
    FaceCropSettings,
    build_face_detector,
    crop_boxes,
    face_crop_settings,
    face_cropper,
    follow_face,
    register_face_detector,
)
from social_mae_hf.face_geometry import draw_box
from social_mae_hf.synthetic import make_frames

FACE_PNG = Path(__file__).parent / "fixtures" / "face" / "astronaut_face.png"
# Where OpenCV's frontal-face cascade puts the face in the 160 x 160 fixture: (33, 33, 95, 95), centred.
FIXTURE_FACE = (33 / 160, 95 / 160)

# "Faces" for the deterministic detector: flat squares of these colours, which natural content never has exactly.
PALETTE = ((255, 0, 128), (0, 255, 128), (128, 0, 255))
BACKGROUND = (40, 40, 40)


def colour_detector(frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
    """The bounding box of each palette colour present in an RGB frame, score 1."""
    boxes = []
    for colour in PALETTE:
        ys, xs = np.nonzero(np.all(frame == np.asarray(colour, np.uint8), axis=-1))
        if len(xs):
            boxes.append(
                (float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1), 1.0)
            )
    return boxes


def clip(faces_per_frame, width=320, height=240) -> np.ndarray:
    """RGB frames with `faces_per_frame[t]` = [(palette index, x, y, w, h), ...] painted on a flat background."""
    frames = np.empty((len(faces_per_frame), height, width, 3), np.uint8)
    frames[:] = BACKGROUND
    for t, faces in enumerate(faces_per_frame):
        for index, x, y, w, h in faces:
            frames[t, y : y + h, x : x + w] = PALETTE[index]
    return frames


def cropper(**settings) -> FaceCropper:
    return FaceCropper(
        FaceCropSettings(**{"detector": "colour", "min_frames": 0.0, "detection_stride": 1, **settings}),
        colour_detector,
    )


# -- square, margin, edges -----------------------------------------------------------------------------------


def test_square_crop_with_margin_is_centred_on_the_face_and_cut_before_any_resize():
    frames = clip([[(0, 100, 60, 40, 40)]] * 4)
    result = cropper(margin=1.5).crop_clip(frames)
    assert result.face_found
    assert result.boxes == [(90, 50, 60, 60)] * 4  # centre (120, 80), side 1.5 x 40
    np.testing.assert_array_equal(result.frames, frames[:, 50:110, 90:150])
    assert result.faces == [(100.0, 60.0, 40.0, 40.0)] * 4


def test_the_side_follows_the_larger_side_of_the_face_box():
    frames = clip([[(0, 100, 60, 30, 50)]] * 2)
    result = cropper(margin=1.2).crop_clip(frames)
    assert result.boxes == [(85, 55, 60, 60)] * 2  # side 1.2 x 50 around (115, 85)


def test_near_an_edge_the_square_stays_on_the_face_and_is_padded_black_outside_the_frame():
    frames = clip([[(0, 0, 0, 40, 40)]] * 2)
    result = cropper(margin=2.0).crop_clip(frames)
    assert result.boxes == [(-20, -20, 80, 80)] * 2  # centred on (20, 20), reaching out of the frame
    assert not result.frames[:, :20].any() and not result.frames[:, :, :20].any()
    np.testing.assert_array_equal(result.frames[:, 20:, 20:], frames[:, :60, :60])
    corner = clip([[(0, 280, 200, 40, 40)]] * 2)
    cut = cropper(margin=2.0).crop_clip(corner)
    assert cut.boxes == [(260, 180, 80, 80)] * 2
    np.testing.assert_array_equal(cut.frames[:, :60, :60], corner[:, 180:, 260:])
    assert not cut.frames[:, 60:].any() and not cut.frames[:, :, 60:].any()


def test_a_square_larger_than_the_frame_keeps_its_side_and_is_padded():
    frames = clip([[(0, 40, 20, 200, 200)]] * 2)
    result = cropper(margin=1.3).crop_clip(frames)
    assert result.boxes == [(10, -10, 260, 260)] * 2  # side 1.3 x 200, centred on (140, 120)
    assert result.frames.shape == (2, 260, 260, 3)
    np.testing.assert_array_equal(result.frames[:, 10:250], frames[:, :, 10:270])
    assert not result.frames[:, :10].any() and not result.frames[:, 250:].any()


# -- smoothing -----------------------------------------------------------------------------------------------

MOVING = {0: (100, 60, 40, 40), 1: (104, 60, 40, 40), 2: (150, 60, 40, 40), 3: (112, 62, 40, 40), 4: (116, 64, 40, 40)}


def test_clip_smoothing_is_one_box_at_the_median_centre_which_ignores_one_wrong_box():
    boxes = crop_boxes(MOVING, 5, 320, 240, margin=1.0, smoothing="clip")
    # centres x 120, 124, 170, 132, 136 -> median 132; y 80, 80, 80, 82, 84 -> 80
    assert boxes == [(112, 60, 40, 40)] * 5


def test_running_median_follows_the_face_and_drops_the_outlier_inside_its_window():
    boxes = crop_boxes(MOVING, 5, 320, 240, margin=1.0, smoothing="running_median", window=3)
    # windows (edges shrink): x {120,124}, {120,124,170}, {124,170,132}, {170,132,136}, {132,136}
    assert [b[0] for b in boxes] == [102, 104, 112, 116, 114]
    assert [b[1] for b in boxes] == [60, 60, 60, 62, 63]


def test_no_smoothing_uses_each_frames_box_and_missed_frames_hold_the_nearest():
    followed = {1: (100, 60, 40, 40), 4: (140, 60, 40, 40)}
    boxes = crop_boxes(followed, 6, 320, 240, margin=1.0, smoothing="none")
    assert [b[0] for b in boxes] == [100, 100, 100, 140, 140, 140]  # 0 and 2 hold frame 1's, 3 and 5 frame 4's
    boxes = crop_boxes(followed, 6, 320, 240, margin=1.0, smoothing="running_median", window=3)
    assert [b[0] for b in boxes] == [100, 100, 100, 140, 140, 140]


def test_the_side_is_the_median_face_size_over_the_clip():
    followed = {0: (100, 60, 40, 40), 1: (100, 60, 44, 44), 2: (100, 60, 90, 90)}
    assert {b[2] for b in crop_boxes(followed, 3, 320, 240, margin=1.5)} == {66}


# -- which face ----------------------------------------------------------------------------------------------


def test_tracking_follows_the_face_seen_throughout_over_a_larger_one_seen_once():
    small = [(0, 40 + 4 * t, 60, 40, 40) for t in range(8)]  # seen in every frame, moving right
    faces = [[s] for s in small]
    faces[3] = [small[3], (1, 200, 100, 80, 80)]  # a larger face in one frame
    frames = clip(faces)
    for selection in ("track", "largest", "central"):  # the large one is seen in too few frames to compete
        followed = cropper(margin=1.0, selection=selection, min_frames=0.25).crop_clip(frames)
        assert all(face[2] == 40 for face in followed.faces), selection


def test_tracks_link_by_centre_distance_and_size_and_survive_a_missed_frame():
    first = (100, 100, 40, 40)
    near = (128, 100, 40, 40)  # moved 0.7 face sizes: same face
    far = (132, 100, 40, 40)  # moved 0.8: another face
    assert follow_face([[first], [], [near]], "track") == {0: first, 2: near}
    track = follow_face([[first], [far], [far]], "track")
    assert track == {1: far, 2: far}  # two tracks; the longer one wins
    resized = (100, 100, 70, 70)  # 1.75 x the size: not the same face
    assert follow_face([[first], [resized], [resized]], "track") == {1: resized, 2: resized}


def test_a_steady_false_detection_with_a_low_score_loses_to_the_real_face():
    # A static background pattern fires in every frame, larger than the face but with a quarter of its score.
    face, background = (40, 80, 48, 48, 30.0), (200, 60, 96, 96, 7.0)
    detections = [[background, (40 + 2 * t, 80, 48, 48, 30.0)] for t in range(8)]
    assert follow_face(detections, "track") == {t: (40 + 2 * t, 80, 48, 48, 30.0) for t in range(8)}
    assert follow_face([[background, face]] * 8, "largest") == dict.fromkeys(range(8), background)
    unscored = [[b[:4] for b in boxes] for boxes in detections]  # without scores, size decides
    assert follow_face(unscored, "track") == dict.fromkeys(range(8), background[:4])


def test_faces_below_min_size_are_ignored():
    frames = clip([[(0, 10, 10, 20, 20), (1, 150, 100, 30, 30)]] * 2)  # shorter side 240: min 0.1 -> 24 px
    result = cropper(margin=1.0, min_size=0.1).crop_clip(frames)
    assert result.faces == [(150.0, 100.0, 30.0, 30.0)] * 2  # (x, y, w, h): the score is not kept
    none_big_enough = cropper(min_size=0.2).crop_clip(frames)
    assert not none_big_enough.face_found


# -- fallback ------------------------------------------------------------------------------------------------


def test_without_a_face_the_whole_frames_come_back_and_the_clip_says_so():
    frames = clip([[]] * 3)
    result = cropper().crop_clip(frames)
    assert not result.face_found
    assert result.frames is frames
    assert result.boxes == [(0, 0, 320, 240)] * 3
    assert result.faces == [None] * 3


def test_a_face_seen_in_too_few_frames_falls_back_to_the_whole_frame():
    faces = [[]] * 8
    faces = [*faces[:2], [(0, 100, 60, 40, 40)], *faces[3:]]
    frames = clip(faces)
    seen_once = cropper(min_frames=0.25).crop_clip(frames)  # needs 2 of 8 frames
    assert not seen_once.face_found
    assert seen_once.faces[2] == (100.0, 60.0, 40.0, 40.0)  # still reported where it was seen
    assert cropper(min_frames=0.0).crop_clip(frames).face_found  # at least one frame
    one_frame = clip([[(0, 100, 60, 40, 40)]])
    assert cropper(min_frames=1.0).crop_clip(one_frame).face_found


# -- detection pass ------------------------------------------------------------------------------------------


def test_large_frames_are_shrunk_for_detection_and_boxes_scaled_back():
    seen_shapes = []

    def detector(frame):
        seen_shapes.append(frame.shape)
        return colour_detector(frame)

    frames = clip([[(0, 400, 200, 160, 160)]] * 2, width=1280, height=720)
    whole = dict(detector="colour", search_near_faces=False)  # every searched frame searched whole
    shrunk = FaceCropper(FaceCropSettings(**whole, detection_max_side=640), detector).crop_clip(frames)
    assert seen_shapes == [(360, 640, 3)] * 2
    full = FaceCropper(FaceCropSettings(**whole, detection_max_side=None), colour_detector).crop_clip(frames)
    assert shrunk.faces == full.faces == [(400.0, 200.0, 160.0, 160.0)] * 2
    assert shrunk.boxes == full.boxes
    assert shrunk.frames.shape == (2, 208, 208, 3)  # cut from the full-resolution frames


def test_after_a_face_is_found_the_next_frames_are_searched_only_around_it():
    seen_shapes = []

    def detector(frame):
        seen_shapes.append(frame.shape)
        return colour_detector(frame)

    # The face moves 40 px a frame; a second face appears on frame 2, far from the first.
    faces = [[(0, 400 + 40 * t, 200, 160, 160)] + ([(1, 1000, 40, 160, 160)] if t else []) for t in range(3)]
    frames = clip(faces, width=1280, height=720)
    near = FaceCropper(FaceCropSettings(detector="colour", detection_stride=1), detector).crop_clip(frames)
    # Frame 0 whole (shrunk to 640 px); then 3 face sizes around the face seen last, shrunk so that it is 40 px.
    assert seen_shapes == [(360, 640, 3), (120, 120, 3), (120, 120, 3)]  # the second face is not searched for
    assert near.faces == [(400.0 + 40 * t, 200.0, 160.0, 160.0) for t in range(3)]
    whole = FaceCropSettings(detector="colour", detection_stride=1, search_near_faces=False)
    assert FaceCropper(whole, colour_detector).crop_clip(frames).boxes == near.boxes
    # No face near the last one: the whole frame is searched again.
    seen_shapes.clear()
    jump = clip([[(0, 100, 100, 160, 160)], [(0, 1000, 500, 160, 160)]], width=1280, height=720)
    moved = FaceCropper(FaceCropSettings(detector="colour", detection_stride=1), detector).crop_clip(jump)
    assert seen_shapes == [(360, 640, 3), (105, 105, 3), (360, 640, 3)]  # the region stops at the edges
    again = FaceCropper(whole, colour_detector).crop_clip(jump)
    assert (moved.faces, moved.boxes) == (again.faces, again.boxes)


def test_bgr_frames_are_detected_as_rgb_and_come_back_bgr():
    rgb = clip([[(1, 100, 60, 40, 40)]] * 2)  # (0, 255, 128): reversed, no palette colour
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    result = cropper(margin=1.0).crop_clip(bgr, channel_order="bgr")
    assert result.face_found
    np.testing.assert_array_equal(result.frames, bgr[:, 60:100, 100:140])
    assert not cropper().crop_clip(bgr, channel_order="rgb").face_found  # the colours only match as RGB


def test_a_detector_that_returns_no_boxes_is_an_error_naming_the_contract():
    with pytest.raises(ValueError, match=r"list of \(x, y, w, h, score\) boxes"):
        FaceCropper(detector=lambda frame: [(1, 2, 3)]).crop_clip(clip([[]]))
    with pytest.raises(ValueError, match="boxes"):
        FaceCropper(detector=lambda frame: None).crop_clip(clip([[]]))
    with pytest.raises(ValueError, match=r"scores must be >= 0"):
        FaceCropper(detector=lambda frame: [(1, 2, 30, 30, -0.5)]).crop_clip(clip([[]]))


@pytest.mark.parametrize(
    "frames",
    [np.zeros((2, 32, 32), np.uint8), np.zeros((2, 32, 32, 3), np.float32), np.zeros((0, 32, 32, 3), np.uint8), "x"],
)
def test_bad_frames_are_rejected(frames):
    with pytest.raises(InvalidInputError, match="face crop: frames"):
        cropper().crop_clip(frames)


# -- settings and registry -----------------------------------------------------------------------------------


def test_settings_round_trip_through_json():
    settings = FaceCropSettings(
        detector="yunet",
        detector_kwargs={"model_path": "/models/yunet.onnx", "score_threshold": 0.8},
        margin=1.5,
        selection="largest",
        smoothing="running_median",
        smoothing_window=5,
        min_size=0.05,
        min_frames=0.5,
        detection_max_side=None,
    )
    restored = FaceCropSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert restored == settings
    assert FaceCropper(settings.to_dict()).settings == settings


def test_a_processors_face_crop_value_becomes_settings():
    assert face_crop_settings(None) is None and face_crop_settings(False) is None
    assert face_crop_settings(True) == FaceCropSettings()
    assert face_crop_settings("yunet") == FaceCropSettings(detector="yunet")
    assert face_crop_settings({"margin": 1.5}) == FaceCropSettings(margin=1.5)
    with pytest.raises(ValueError, match="face_crop must be None, a bool, a detector name"):
        face_crop_settings(1.3)


def test_one_cropper_per_distinct_settings():
    first = face_cropper({"margin": 1.5, "detector_kwargs": {"scale_factor": 1.2, "min_neighbors": 4}})
    same = face_cropper(FaceCropSettings(margin=1.5, detector_kwargs={"min_neighbors": 4, "scale_factor": 1.2}))
    assert first is same
    assert face_cropper({"margin": 1.6}) is not first
    with pytest.raises(ValueError, match="needs settings"):
        face_cropper(None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"margin": 0}, "margin must be a number > 0"),
        ({"selection": "biggest"}, "selection must be one of"),
        ({"smoothing": "ema"}, "smoothing must be one of"),
        ({"smoothing_window": 4}, "smoothing_window must be an odd integer"),
        ({"min_size": 1.0}, r"min_size must be in \[0, 1\)"),
        ({"min_frames": 1.5}, r"min_frames must be in \[0, 1\]"),
        ({"detection_max_side": 8}, "detection_max_side must be None or an integer >= 16"),
        ({"detector": ""}, "detector must be a non-empty name"),
        ({"detector_kwargs": {"model": object()}}, "detector_kwargs must hold JSON values"),
        ({"margins": 1.3}, r"unknown keys \['margins'\]"),
    ],
)
def test_bad_settings_are_named(values, message):
    with pytest.raises(ValueError, match=message):
        FaceCropSettings.from_dict(values)


def test_registered_detectors_are_built_by_name_with_min_size_and_their_kwargs(monkeypatch):
    monkeypatch.setattr(face_crop, "FACE_DETECTORS", dict(face_crop.FACE_DETECTORS))
    built = []

    def factory(*, min_size, colour_index):
        built.append((min_size, colour_index))
        return lambda frame: [b for b in colour_detector(frame) if b[:2] == (100.0, 60.0)][:1]

    register_face_detector("colour", factory)
    settings = FaceCropSettings(detector="colour", detector_kwargs={"colour_index": 0}, min_size=0.05, min_frames=0)
    result = FaceCropper(settings).crop_clip(clip([[(0, 100, 60, 40, 40)]] * 2))
    assert result.face_found and built == [(0.05, 0)]
    with pytest.raises(
        ValueError, match=r"unknown face detector 'nope'; known: \['colour', 'haar', 'mtcnn', 'yunet'\]"
    ):
        FaceCropper(FaceCropSettings(detector="nope")).crop_clip(clip([[]]))


# -- OpenCV's detectors --------------------------------------------------------------------------------------


def scene(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth random RGB texture: a background with no face in it."""
    coarse = np.random.default_rng(seed).integers(30, 200, size=(height // 40 + 2, width // 40 + 2, 3), dtype=np.uint8)
    return np.asarray(PIL.Image.fromarray(coarse).resize((width, height), PIL.Image.Resampling.BICUBIC))


def paste_face(side: int, x: int, y: int, width=640, height=360, seed=1) -> tuple[np.ndarray, tuple[float, ...]]:
    """The fixture face scaled to `side` at (x, y) on a `scene`; returns the frame and the face's expected centre x,
    centre y and size."""
    frame = scene(width, height, seed).copy()
    face = np.asarray(PIL.Image.open(FACE_PNG).convert("RGB").resize((side, side), PIL.Image.Resampling.BILINEAR))
    frame[y : y + side, x : x + side] = face
    return frame, (x + side / 2, y + side / 2, side * FIXTURE_FACE[1])


@pytest.mark.parametrize(
    ("side", "x", "y"), [(80, 0, 0), (120, 260, 120), (160, 480, 40), (240, 20, 120), (320, 320, 40), (100, 540, 260)]
)
def test_haar_finds_the_real_face_at_several_places_and_sizes(side, x, y):
    frame, (cx, cy, size) = paste_face(side, x, y)
    boxes = FaceCropper(FaceCropSettings(detector="haar", detection_max_side=640)).detect(frame)
    assert len(boxes) == 1, boxes
    bx, by, bw, bh, neighbours = boxes[0]
    assert neighbours >= 10  # OpenCV's count of merged raw detections: false ones have few
    assert abs(bx + bw / 2 - cx) < 0.15 * size and abs(by + bh / 2 - cy) < 0.15 * size
    assert 0.75 * size < bw < 1.33 * size


def test_haar_crops_a_real_clip_around_the_face_and_finds_none_in_faceless_frames():
    frames = np.stack([paste_face(140, 300 + 6 * t, 100 + 3 * t, width=1280, height=720)[0] for t in range(8)])
    result = FaceCropper(FaceCropSettings(detector="haar")).crop_clip(frames)
    assert result.face_found and len({b for b in result.boxes}) == 1
    x, y, side, _ = result.boxes[0]
    face_size = 140 * FIXTURE_FACE[1]
    assert abs(side - 1.3 * face_size) < 0.2 * face_size
    # the face's centre over the clip, (391, 181), lies in the middle of the crop
    assert abs(x + side / 2 - (300 + 21 + 70)) < 8 and abs(y + side / 2 - (100 + 10.5 + 70)) < 8
    # The synthetic clips' circle "face" (eyes, mouth) counts as a face for the cascade; their square does not.
    drawn = FaceCropper(FaceCropSettings(detector="haar"))
    assert drawn.crop_clip(make_frames(2.0, fps=4, width=640, height=360, shape="circle", seed=3)).face_found
    assert not drawn.crop_clip(make_frames(2.0, fps=4, width=640, height=360, shape="square", seed=3)).face_found
    assert not drawn.crop_clip(np.stack([scene(640, 360, seed) for seed in range(1, 6)])).face_found


def test_a_cropper_pickles_without_its_opencv_detector_and_rebuilds_it():
    frame, _ = paste_face(160, 200, 100)
    cropper = FaceCropper({"detector": "haar"})
    before = cropper.crop_clip(frame[None])
    copy = pickle.loads(pickle.dumps(cropper))
    assert copy.crop_clip(frame[None]).boxes == before.boxes


def test_yunet_needs_its_model_file_and_says_where_it_comes_from(tmp_path):
    with pytest.raises(ValueError, match=r"'yunet' needs detector_kwargs=\{'model_path'"):
        build_face_detector("yunet")
    missing = tmp_path / "face_detection_yunet_2023mar.onnx"
    with pytest.raises(ModelFilesError, match=f"model file {missing}: no such file"):
        FaceCropper({"detector": "yunet", "detector_kwargs": {"model_path": str(missing)}}).crop_clip(clip([[]]))
    missing.write_text("not an onnx model")
    with pytest.raises(ModelFilesError, match="OpenCV cannot load it as a YuNet model"):
        build_face_detector("yunet", model_path=str(missing))


def test_haar_without_bundled_cascades_or_without_opencv_says_what_to_install(monkeypatch):
    import cv2

    monkeypatch.delattr(cv2, "data")
    with pytest.raises(ImportError, match=r"ships no Haar cascades .*opencv-python-headless>=4.8,<5"):
        build_face_detector("haar")
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"social-mae-hf\[face\]"):
        build_face_detector("haar")


def test_an_unknown_cascade_file_is_named():
    with pytest.raises(ModelFilesError, match=r"Haar cascade 'no_such\.xml': no such file"):
        build_face_detector("haar", cascade="no_such.xml")


# -- drawing -------------------------------------------------------------------------------------------------


def test_draw_box_outlines_inside_the_frame_and_leaves_the_rest():
    frame = np.zeros((20, 30, 3), np.uint8)
    out = draw_box(frame, (5, 4, 10, 8), colour=(255, 0, 0), thickness=1)
    red = np.all(out == (255, 0, 0), axis=-1)
    assert red[4, 5:15].all() and red[11, 5:15].all() and red[4:12, 5].all() and red[4:12, 14].all()
    assert red.sum() == 2 * 10 + 2 * 6
    assert not frame.any()  # a copy
    clipped = np.all(draw_box(frame, (20, -5, 40, 10), thickness=1) == (255, 0, 0), axis=-1)
    assert clipped[4, 20:].all() and clipped[:5, 20].all() and not clipped[5:].any()
