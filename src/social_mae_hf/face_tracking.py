"""Which face the crop follows through a clip: link each frame's detections into tracks, then pick one track.

Linking is greedy (the closest box-track pairs first): a box continues a track when its centre moved less than
`LINK_MAX_SHIFT` face sizes since the track's last box and its size changed by less than `LINK_MAX_SIZE_RATIO`; a
track may skip frames where the face was missed. One track, so the crop never jumps between two people. The
`selection` rule picks it among the tracks seen often enough (`min_count` frames):

- `"track"`: the most present face: the largest sum of size x detector score over its frames (a face seen in every
  frame beats a larger one seen once; a false detection on a static background, repeated but with a low score,
  loses to the real face);
- `"largest"`: the largest face (median size over its frames);
- `"central"`: the face whose median centre is nearest the frame's centre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SELECTIONS = ("track", "largest", "central")
# Sampled frames are 0.5 s apart for Social-MAE: a talking head moves less than this between two of them.
LINK_MAX_SHIFT = 0.75
LINK_MAX_SIZE_RATIO = 1.6

Track = dict[int, tuple]  # frame index -> detection (x, y, w, h[, score])


def centre(box: Sequence[float]) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def face_size(box: Sequence[float]) -> float:
    """A face's size: the larger side of its box."""
    return max(box[2], box[3])


def _weight(box: Sequence[float]) -> float:
    """What a detection adds to its track: its size times its score (1 when the detector gave none)."""
    return face_size(box) * (box[4] if len(box) > 4 else 1.0)


def _link_cost(previous: Sequence[float], box: Sequence[float]) -> float | None:
    """How far `box` moved from `previous`, in face sizes; None when it is too far or too resized to be the same."""
    big, small = max(face_size(previous), face_size(box)), min(face_size(previous), face_size(box))
    if big > LINK_MAX_SIZE_RATIO * small:
        return None
    (px, py), (x, y) = centre(previous), centre(box)
    shift = math.hypot(x - px, y - py) / big
    return shift if shift <= LINK_MAX_SHIFT else None


def link_tracks(detections: Sequence[Sequence[Sequence[float]]]) -> list[Track]:
    """Each frame's boxes linked into tracks, in the order the tracks started."""
    tracks: list[Track] = []
    for t, boxes in enumerate(detections):
        pairs = []
        for k, track in enumerate(tracks):
            last = track[max(track)]
            for j, box in enumerate(boxes):
                cost = _link_cost(last, box)
                if cost is not None:
                    pairs.append((cost, k, j))
        taken_tracks, taken_boxes = set(), set()
        for _, k, j in sorted(pairs):
            if k not in taken_tracks and j not in taken_boxes:
                tracks[k][t] = tuple(boxes[j])
                taken_tracks.add(k)
                taken_boxes.add(j)
        tracks += [{t: tuple(box)} for j, box in enumerate(boxes) if j not in taken_boxes]
    return tracks


def follow_face(
    detections: Sequence[Sequence[Sequence[float]]],
    selection: str = "track",
    *,
    frame_size: tuple[int, int] | None = None,
    min_count: int = 1,
) -> Track:
    """Frame index -> the followed face's detection `(x, y, w, h[, score])`, for the frames where it was seen.

    `selection` is the rule of the module docstring; only tracks seen in at least `min_count` frames compete
    (none: `{}`). `"central"` needs `frame_size` `(width, height)`. On a tie the earliest-started track wins.
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    if selection == "central" and frame_size is None:
        raise ValueError("selection 'central' needs the frame size (width, height)")
    tracks = [track for track in link_tracks(detections) if len(track) >= max(1, min_count)]
    if not tracks:
        return {}
    if selection == "track":
        return max(tracks, key=lambda track: sum(_weight(b) for b in track.values()))
    if selection == "largest":
        return max(tracks, key=lambda track: float(np.median([face_size(b) for b in track.values()])))
    width, height = frame_size

    def distance(track: Track) -> float:
        x, y = np.median([centre(b) for b in track.values()], axis=0)
        return math.hypot((x - width / 2) / width, (y - height / 2) / height)

    return min(tracks, key=distance)
