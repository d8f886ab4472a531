"""Where the crop goes and how it is cut: padded black where it leaves the frame, never shifted onto something else."""

import numpy as np
import pytest

from social_mae_hf.face_geometry import crop_boxes, cut_crops


def test_a_crop_reaching_out_of_the_frame_keeps_its_place_and_is_black_outside():
    frames = np.arange(2 * 6 * 8 * 3, dtype=np.uint8).reshape(2, 6, 8, 3) + 1  # no zero pixel inside
    out = cut_crops(frames, [(-2, -1, 4, 4), (6, 4, 4, 4)])
    np.testing.assert_array_equal(out[0, 1:, 2:], frames[0, :3, :2])
    assert not out[0, :1].any() and not out[0, :, :2].any()
    np.testing.assert_array_equal(out[1, :2, :2], frames[1, 4:, 6:])
    assert not out[1, 2:].any() and not out[1, :, 2:].any()


def test_a_crop_wholly_outside_the_frame_is_black():
    frames = np.full((1, 4, 4, 3), 7, np.uint8)
    assert not cut_crops(frames, [(10, 10, 3, 3)]).any()


def test_boxes_are_centred_on_the_face_at_any_edge_with_one_side_for_the_clip():
    followed = {0: (0, 0, 40, 40), 1: (600, 330, 40, 50)}  # top-left corner, then bottom-right (partly out)
    boxes = crop_boxes(followed, 2, 640, 360, margin=1.5, smoothing="none")
    assert boxes == [(-14, -14, 68, 68), (586, 321, 68, 68)]  # side 1.5 x median(40, 50) = 67.5 -> 68
    with pytest.raises(ValueError, match="smoothing must be one of"):
        crop_boxes(followed, 2, 640, 360, smoothing="mean")
