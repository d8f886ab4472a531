"""Which face the crop follows: one track per person, picked by the selection rule."""

import pytest

from social_mae_hf.face_tracking import follow_face, link_tracks


def test_the_selection_rule_picks_one_of_two_people_and_keeps_them_throughout():
    # A: small, central, seen in every frame; B: large, off-centre, missed in odd frames.
    a, b = (130, 90, 60, 60), (10, 10, 100, 100)
    detections = [[a, b] if t % 2 == 0 else [a] for t in range(8)]
    assert follow_face(detections, "track") == dict.fromkeys(range(8), a)  # 8 x 60 > 4 x 100
    assert follow_face(detections, "largest") == {t: b for t in range(0, 8, 2)}
    assert follow_face(detections, "central", frame_size=(320, 240)) == dict.fromkeys(range(8), a)
    assert follow_face(detections, "largest", min_count=5) == dict.fromkeys(range(8), a)  # B: 4 frames
    with pytest.raises(ValueError, match="needs the frame size"):
        follow_face(detections, "central")
    with pytest.raises(ValueError, match="selection must be one of"):
        follow_face(detections, "speaker")


def test_tracks_do_not_link_a_box_too_far_away_or_too_resized():
    a, far, resized = (100, 100, 40, 40), (200, 100, 40, 40), (100, 100, 80, 80)
    assert len(link_tracks([[a], [far]])) == 2  # moved 2.5 face sizes
    assert len(link_tracks([[a], [resized]])) == 2  # doubled
    assert link_tracks([[a], [], [(110, 104, 44, 44)]]) == [{0: a, 2: (110, 104, 44, 44)}]  # a missed frame
