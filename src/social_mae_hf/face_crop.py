"""Face-centred crops of a clip's sampled frames: the settings, and the cropper that runs the steps in order.

Social-MAE was trained on face-centred video (VoxCeleb2 face tracks, CREMA-D, cropped NDC-ME); in-the-wild footage
needs the same framing. This is an optional step between frame sampling and resizing, off by default (the video
processor's `face_crop` setting runs it, see `video_processing_social_mae.py`):

1. Detect faces (`face_detection.py`; the default is MTCNN, shipped with this package) on every
   `detection_stride`-th sampled frame, shrunk to at most `detection_max_side` pixels, for speed. Faces smaller
   than `min_size` (a fraction of the frame's shorter side) are dropped. With `search_near_faces`, a frame after
   one where faces were found is searched only around them (a small region, shrunk so that a face is about
   `NEAR_FACE_PIXELS` wide), and as a whole only when none is found there: the crop then costs about one
   whole-frame detection per clip.
2. Follow one face through the clip (`face_tracking.py`), chosen by `selection`: the most present, the largest or
   the most central.
3. Place and cut the square crop (`face_geometry.py`): `margin` x the face size, centred on the face, smoothed over
   time as `smoothing` says, padded with black where it leaves the frame.

When the followed face is seen in fewer than `min_frames` of the frames searched (a share, at least one frame),
the clip is left whole (`face_found=False`), and the usual full-frame resize applies.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL.Image

from .errors import InvalidInputError, ModelFilesError
from .face_detection import (
    FACE_DETECTORS,
    FaceDetector,
    FaceDetectorError,
    as_detections,
    build_face_detector,
    register_face_detector,
)
from .face_geometry import SMOOTHINGS, crop_boxes, cut_crops
from .face_tracking import SELECTIONS, follow_face

__all__ = [
    "FACE_DETECTORS",
    "FaceCrop",
    "FaceCropSettings",
    "FaceCropper",
    "FaceDetector",
    "FaceDetectorError",
    "build_face_detector",
    "crop_boxes",
    "cut_crops",
    "face_crop_from_options",
    "face_crop_settings",
    "face_cropper",
    "follow_face",
    "register_face_detector",
]

Box = tuple[float, float, float, float]
Detection = tuple[float, float, float, float, float]  # x, y, w, h, score

# The region searched around a face seen on the previous searched frame: this many face sizes wide, centred on
# it (Social-MAE's sampled frames are 0.5 s apart; tracking links a face that moved up to 0.75 face sizes).
NEAR_FACE_REGION = 3.0
# The region is shrunk (by an integer factor) so that the smallest face in it is about this wide: MTCNN finds
# faces from 20 px, so this leaves room for a face that shrank or turned.
NEAR_FACE_PIXELS = 40


# ----------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class FaceCropSettings:
    """How to crop; plain JSON values, recorded in a saved processor config (`to_dict` / `from_dict`).

    Args:
        detector: A name in `FACE_DETECTORS` ("mtcnn", "haar", "yunet", or one registered), or the name a
            user-supplied detector callable is recorded under.
        detector_kwargs: Keyword arguments of the detector's factory, e.g. `{"model_path": "yunet.onnx"}` for
            YuNet, `{"cascade": ..., "scale_factor": 1.1, "min_neighbors": 5}` for Haar.
        margin: Side of the square crop as a multiple of the face size (the larger side of the face box).
        selection: Which person, when several are seen (always one throughout): `"track"` (the most present
            face: summed size x score), `"largest"` or `"central"` (nearest the frame's centre).
        smoothing: Where the crop's centre goes over time: `"clip"` (one centre, the median over the clip),
            `"running_median"` (median over `smoothing_window` sampled frames around each) or `"none"`.
        smoothing_window: Window of `"running_median"`, in sampled frames (odd).
        min_size: Smallest face kept, as a fraction of the frame's shorter side (smaller ones are background
            faces or false detections, and would be blown up far past their resolution).
        min_frames: Share of the sampled frames the followed face must be seen in (at least one frame); else the
            clip is left whole and reported as `face_found=False`.
        detection_max_side: Frames whose longer side exceeds this are shrunk by an integer factor (box filter)
            for detection only; the crop is cut from the full-resolution frame. None: detect at full size.
        detection_stride: Detect on every this-many-th sampled frame (the first, then every `detection_stride`-th;
            the last too); the crop holds the nearest searched frame's face in between. 1: every frame.
        search_near_faces: After a searched frame where faces were found, search the next one only around them
            (`NEAR_FACE_REGION` face sizes, shrunk so that a face is about `NEAR_FACE_PIXELS` wide), and the whole
            frame only when none is found there. A face that enters later is then not seen; False: search every
            searched frame whole.
    """

    detector: str = "mtcnn"
    detector_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    margin: float = 1.3
    selection: str = "track"
    smoothing: str = "clip"
    smoothing_window: int = 3
    min_size: float = 0.05
    min_frames: float = 0.25
    detection_max_side: int | None = 640
    detection_stride: int = 4
    search_near_faces: bool = True

    def __post_init__(self):
        window, largest = self.smoothing_window, self.detection_max_side
        checks = [
            ("detector", isinstance(self.detector, str) and self.detector != "", "a non-empty name"),
            ("detector_kwargs", isinstance(self.detector_kwargs, dict), "a dict"),
            ("margin", _is_number(self.margin) and self.margin > 0, "a number > 0"),
            ("selection", self.selection in SELECTIONS, f"one of {SELECTIONS}"),
            ("smoothing", self.smoothing in SMOOTHINGS, f"one of {SMOOTHINGS}"),
            ("smoothing_window", _is_int(window) and window >= 1 and window % 2 == 1, "an odd integer >= 1"),
            ("min_size", _is_number(self.min_size) and 0 <= self.min_size < 1, "in [0, 1)"),
            ("min_frames", _is_number(self.min_frames) and 0 <= self.min_frames <= 1, "in [0, 1]"),
            ("detection_max_side", largest is None or (_is_int(largest) and largest >= 16), "None or an integer >= 16"),
            ("detection_stride", _is_int(self.detection_stride) and self.detection_stride >= 1, "an integer >= 1"),
            ("search_near_faces", isinstance(self.search_near_faces, bool), "a bool"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"face crop settings: {name} must be {expected}, got {getattr(self, name)!r}")
        try:
            json.dumps(self.detector_kwargs)
        except (TypeError, ValueError) as err:
            raise ValueError(f"face crop settings: detector_kwargs must hold JSON values ({err})") from err

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (what a processor config records)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FaceCropSettings:
        """Settings from `to_dict`'s output (e.g. a saved processor config); unknown keys are an error."""
        if not isinstance(values, dict):
            raise ValueError(f"face crop settings: expected a dict, got {type(values).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"face crop settings: unknown keys {unknown}; known: {sorted(known)}")
        return cls(**values)


def face_crop_settings(value) -> FaceCropSettings | None:
    """A processor's `face_crop` value as settings: None or False (off), True (the defaults), a detector name,
    a dict (`to_dict`'s form, as saved in a config) or `FaceCropSettings`."""
    if value is None or value is False:
        return None
    if value is True:
        return FaceCropSettings()
    if isinstance(value, str):
        return FaceCropSettings(detector=value)
    if isinstance(value, dict):
        return FaceCropSettings.from_dict(value)
    if isinstance(value, FaceCropSettings):
        return value
    raise ValueError(
        f"face_crop must be None, a bool, a detector name, a dict of settings or FaceCropSettings, got {value!r}"
    )


# The detector keyword that takes the model file given on a command line (`--face-detector-model`).
_MODEL_FILE_KWARG = {"haar": "cascade", "yunet": "model_path"}


def face_crop_from_options(
    face_crop: str | None,
    *,
    face_margin: float | None = None,
    face_detector_model: str | None = None,
    face_smoothing: str | None = None,
) -> FaceCropSettings | None:
    """Settings from command-line options (`social-mae predict --face-crop ...`, the training scripts'
    `--face_crop ...`): `face_crop` names the detector ("none": no crop, then None), the others change the
    defaults. `face_detector_model` is the detector's model file (YuNet's ONNX file, which it needs, or a Haar
    cascade), recorded as an absolute path. The options other than `face_crop` need it."""
    others = {"face_margin": face_margin, "face_detector_model": face_detector_model, "face_smoothing": face_smoothing}
    given = [f"`{name}`" for name, value in others.items() if value is not None]
    if face_crop is None and given:
        raise ValueError(f"{', '.join(given)} set(s) the face crop: give `face_crop` too (a detector name, e.g. haar)")
    if face_crop == "none" and given:
        raise ValueError(f"{', '.join(given)} set(s) the face crop, which `face_crop` none turns off")
    if face_crop is None or face_crop == "none":
        return None
    values: dict[str, Any] = {"detector": face_crop}
    if face_margin is not None:
        if not _is_number(face_margin) or face_margin <= 0:
            raise ValueError(f"`face_margin` must be a number > 0 (the crop side / the face size), got {face_margin}")
        values["margin"] = face_margin
    if face_smoothing is not None:
        values["smoothing"] = face_smoothing
    if face_detector_model is not None and face_crop == "mtcnn":
        raise ValueError("`face_detector_model` is for 'haar' or 'yunet': 'mtcnn' ships its own weights")
    if face_detector_model is not None:
        if not os.path.isfile(face_detector_model):
            raise ModelFilesError(f"face detector model {face_detector_model}: no such file (`face_detector_model`)")
        values["detector_kwargs"] = {
            _MODEL_FILE_KWARG.get(face_crop, "model_path"): os.path.abspath(face_detector_model)
        }
    elif face_crop == "yunet":
        raise ValueError(
            "face detector 'yunet' needs its model file (`face_detector_model`): face_detection_yunet_2023mar.onnx "
            "from OpenCV Zoo (models/face_detection_yunet)"
        )
    return FaceCropSettings(**values)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


# ----------------------------------------------------------------------------------------------
# Cropping


@dataclass(frozen=True)
class FaceCrop:
    """A clip's crop.

    Attributes:
        frames: `(T, S, S, 3)` uint8 crops when a face was found; the input frames, whole, when not.
        face_found: Whether the crop follows a face (False: full-frame fallback).
        boxes: Per frame, the crop `(x, y, w, h)` in source pixels (the whole frame when no face was found); it
            may reach outside the frame, where the crop is black.
        faces: Per frame, the followed face's detected box `(x, y, w, h)`, or None where it was not seen.
    """

    frames: np.ndarray
    face_found: bool
    boxes: list[tuple[int, int, int, int]]
    faces: list[Box | None]


class FaceCropper:
    """Crops clips around a face as `settings` say; `detector` (a callable) replaces the named one.

    The detector is built on first use and dropped when pickled (OpenCV objects do not pickle), so a cropper can
    go to DataLoader workers.
    """

    def __init__(self, settings: FaceCropSettings | dict | None = None, detector: FaceDetector | None = None):
        if settings is None:
            settings = FaceCropSettings()
        elif isinstance(settings, dict):
            settings = FaceCropSettings.from_dict(settings)
        elif not isinstance(settings, FaceCropSettings):
            raise ValueError(f"face crop settings: expected FaceCropSettings or a dict, got {type(settings).__name__}")
        if detector is not None and not callable(detector):
            raise ValueError(f"face detector: expected a callable, got {type(detector).__name__}")
        self.settings = settings
        self._user_detector = detector
        self._detector = detector

    def __getstate__(self):
        state = self.__dict__.copy()
        if self._user_detector is None:
            state["_detector"] = None
        return state

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = build_face_detector(
                self.settings.detector, min_size=self.settings.min_size, **self.settings.detector_kwargs
            )
        return self._detector

    @property
    def detector_name(self) -> str:
        if self._user_detector is not None:
            return f"face detector {getattr(self._user_detector, '__name__', type(self._user_detector).__name__)!r}"
        return f"face detector {self.settings.detector!r}"

    def detect(self, frame: np.ndarray, where: str = "a frame") -> list[Detection]:
        """Faces `(x, y, w, h, score)` in `frame`'s pixels (RGB uint8), at least `min_size`, largest first.

        `where` names the frame (and its clip) in the error raised when the detector fails or returns bad boxes.
        """
        height, width = frame.shape[:2]
        factor = 1
        if self.settings.detection_max_side is not None:
            factor = max(1, math.ceil(max(height, width) / self.settings.detection_max_side))
        return self._kept(self._run(frame, factor, where), height, width)

    def detect_near(
        self, frame: np.ndarray, faces: Sequence[Sequence[float]], where: str = "a frame"
    ) -> list[Detection]:
        """As `detect`, but searching only the region around `faces` (boxes seen on an earlier frame of the clip):
        `NEAR_FACE_REGION` face sizes around each, shrunk so that the smallest is about `NEAR_FACE_PIXELS` wide."""
        height, width = frame.shape[:2]
        boxes = np.asarray([f[:4] for f in faces], np.float64).reshape(-1, 4)
        if not len(boxes):
            return []
        sizes = boxes[:, 2:4].max(axis=1)
        cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
        half = NEAR_FACE_REGION * sizes / 2
        x0, y0 = max(0, math.floor(min(cx - half))), max(0, math.floor(min(cy - half)))
        x1, y1 = min(width, math.ceil(max(cx + half))), min(height, math.ceil(max(cy + half)))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return []
        factor = max(1, math.floor(sizes.min() / NEAR_FACE_PIXELS))
        found = self._run(frame[y0:y1, x0:x1], factor, where)
        found[:, 0] += x0
        found[:, 1] += y0
        return self._kept(found, height, width)

    def _run(self, image: np.ndarray, factor: int, where: str) -> np.ndarray:
        """The detector's boxes on `image` shrunk `factor` times (box filter), in `image`'s pixels, checked."""
        small = image if factor == 1 else np.asarray(PIL.Image.fromarray(np.ascontiguousarray(image)).reduce(factor))
        detector = self.detector  # built outside the `try`: a bad setting is not the detector failing
        try:
            raw = detector(np.ascontiguousarray(small))
        except Exception as err:
            raise FaceDetectorError(f"{self.detector_name} failed on {where}: {type(err).__name__}: {err}") from err
        try:
            found = as_detections(raw, small.shape[1], small.shape[0], self.detector_name)
        except FaceDetectorError as err:
            raise FaceDetectorError(f"{err} (on {where})") from None
        found[:, :4] *= factor
        return found

    def _kept(self, found: np.ndarray, height: int, width: int) -> list[Detection]:
        """The boxes of at least `min_size` of the frame's shorter side, largest first."""
        smallest = self.settings.min_size * min(height, width)
        kept = [tuple(map(float, b)) for b in found if max(b[2], b[3]) >= smallest]
        return sorted(kept, key=lambda b: -b[2] * b[3])

    def searched_frames(self, count: int) -> list[int]:
        """The sampled frames that detection runs on: every `detection_stride`-th, and the last."""
        searched = list(range(0, count, self.settings.detection_stride))
        if searched[-1] != count - 1:
            searched.append(count - 1)
        return searched

    # -- the clip --------------------------------------------------------------------------------------

    def crop_clip(self, frames: np.ndarray, channel_order: str = "rgb", *, source: str | None = None) -> FaceCrop:
        """Crop `(T, H, W, 3)` uint8 frames (in `channel_order`, kept in the output) around the followed face.

        `source` (the clip's path or name) goes into the error raised when the detector fails.
        """
        frames = _check_frames(frames)
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        rgb = frames if channel_order == "rgb" else frames[..., ::-1]
        clip = f" of {source}" if source else ""
        detections: list[list[Detection] | None] = [None] * len(frames)
        seen: list[Detection] = []  # the faces of the last searched frame
        for t in self.searched_frames(len(frames)):
            frame, where = np.ascontiguousarray(rgb[t]), f"frame {t}{clip}"
            near = self.detect_near(frame, seen, where) if self.settings.search_near_faces else []
            detections[t] = seen = near or self.detect(frame, where)
        return self.crop_with_detections(frames, detections)

    def crop_with_detections(
        self, frames: np.ndarray, detections: Sequence[Sequence[Sequence[float]] | None]
    ) -> FaceCrop:
        """The crop of `frames` given each frame's faces `(x, y, w, h[, score])` (the step after detection);
        None for a frame that was not searched."""
        count, height, width = frames.shape[:3]
        if len(detections) != count:
            raise ValueError(f"{len(detections)} lists of detections for {count} frames")
        searched = [t for t, found in enumerate(detections) if found is not None]
        needed = max(1, math.ceil(self.settings.min_frames * len(searched)))
        # Tracks link across the searched frames only; a face missed in an unsearched frame is not a gap.
        linked = follow_face(
            [detections[t] for t in searched],
            self.settings.selection,
            frame_size=(width, height),
            min_count=needed,
        )
        followed = {searched[k]: box for k, box in linked.items()}
        if not followed:  # report where the best face was seen, too rarely to crop on
            rare = follow_face([detections[t] for t in searched], self.settings.selection, frame_size=(width, height))
            seen = {searched[k]: box for k, box in rare.items()}
            faces = [tuple(seen[t][:4]) if t in seen else None for t in range(count)]
            return FaceCrop(frames, False, [(0, 0, width, height)] * count, faces)
        faces = [tuple(followed[t][:4]) if t in followed else None for t in range(count)]
        boxes = crop_boxes(
            followed,
            count,
            width,
            height,
            margin=self.settings.margin,
            smoothing=self.settings.smoothing,
            window=self.settings.smoothing_window,
        )
        return FaceCrop(cut_crops(frames, boxes), True, boxes, faces)


@functools.lru_cache(maxsize=8)
def _cached_cropper(settings_json: str) -> FaceCropper:
    return FaceCropper(FaceCropSettings.from_dict(json.loads(settings_json)))


def face_cropper(settings: FaceCropSettings | dict) -> FaceCropper:
    """One cropper per distinct settings in this process, so that a processor holding only the JSON settings
    (its saved config) does not rebuild the detector (an OpenCV model load) for every clip."""
    settings = face_crop_settings(settings)
    if settings is None:
        raise ValueError("face_cropper needs settings, got None")
    return _cached_cropper(json.dumps(settings.to_dict(), sort_keys=True))


def _check_frames(frames) -> np.ndarray:
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        shape = getattr(frames, "shape", None)
        dtype = getattr(frames, "dtype", type(frames).__name__)
        raise InvalidInputError(
            f"face crop: frames must be a (frames, height, width, 3) uint8 array, got {shape} {dtype}"
        )
    if frames.shape[0] == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        raise InvalidInputError(f"face crop: frames must not be empty, got {frames.shape}")
    return frames
