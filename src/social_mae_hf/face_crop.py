"""Face-centred crops of a clip's sampled frames: detect, follow one face, smooth its box, cut a square.

Social-MAE was trained on face-centred video (VoxCeleb2 face tracks, CREMA-D, cropped NDC-ME); in-the-wild footage
needs the same framing. This is an optional step between frame sampling and resizing, off by default (the video
processor's `face_crop` setting runs it, see `video_processing_social_mae.py`):

1. Detect faces in each sampled frame (on a copy shrunk to at most `detection_max_side` pixels, for speed) with a
   detector: any callable `frame (H, W, 3) uint8 RGB -> [(x, y, w, h, score), ...]` in that frame's pixels.
   Detectors are chosen by name from `FACE_DETECTORS` (`register_face_detector` adds one), or passed as a callable.
   Detections smaller than `min_size` (a fraction of the frame's shorter side) are dropped.
2. Follow one face: `"track"` links each frame's boxes to the tracks of earlier frames (nearest centre, relative
   to the face size, with a similar size; a track may skip frames where the face was missed) and keeps the track
   with the largest sum of face size x detector score over its frames, so a face seen in every frame beats a
   larger one seen once, the crop does not jump between two people, and a false detection on a static background
   (repeated in every frame, but with a low score) loses to the real face; `"largest"` takes the largest box of
   every frame.
3. Smooth: the crop's side is `margin` times the median face size over the followed frames (one side for the
   clip, so the frames stack and the face keeps its scale); its centre is the median of the face centres over
   the whole clip (`"clip"`, the default: one still crop, as a face track of a talking head), a running median
   over `smoothing_window` sampled frames (`"running_median"`: follows a face that moves), or each frame's own
   (`"none"`). Medians rather than means or an exponential smoothing: the sampled frames are few and far apart
   (8 frames 0.5 s apart for Social-MAE), the typical error is one missed or wrong box, which a median ignores
   and a mean or an exponential average would follow; and the whole clip is known, so no causal filter is
   needed. Frames where the face was missed take the centre of the nearest frame where it was seen.
4. Cut the square inside the frame: near an edge the square is shifted inward (the face is then off-centre),
   never padded, so every pixel is real; a square larger than the frame's shorter side is shrunk to it. The crop
   comes before any resize, so the model sees the face at the full source resolution.

When the followed face is seen in fewer than `min_frames` of the sampled frames (a share, at least one frame),
the clip is left whole (`face_found=False`), and the usual full-frame resize applies.

OpenCV (`pip install "social-mae-hf[face]"`, i.e. `opencv-python-headless<5`) is imported only when one of its
detectors is built: `"haar"` uses the frontal-face Haar cascade shipped inside the OpenCV 4 wheel (CPU, offline),
`"yunet"` the YuNet ONNX model, whose file the user supplies (`detector_kwargs={"model_path": ...}`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL.Image

from .errors import InvalidInputError, ModelFilesError

__all__ = [
    "FACE_DETECTORS",
    "FaceCrop",
    "FaceCropSettings",
    "FaceCropper",
    "FaceDetector",
    "build_face_detector",
    "crop_boxes",
    "draw_box",
    "face_crop_from_options",
    "face_crop_settings",
    "face_cropper",
    "follow_face",
    "haar_face_detector",
    "register_face_detector",
    "yunet_face_detector",
]

FaceDetector = Callable[[np.ndarray], Sequence[Sequence[float]]]
"""frame (H, W, 3) uint8 RGB -> boxes (x, y, w, h, score) in that frame's pixels; score >= 0, higher is surer
(its scale is the detector's own: only the ratios between one clip's detections matter); it may be left out (1)."""

Box = tuple[float, float, float, float]
Detection = tuple[float, float, float, float, float]  # x, y, w, h, score

SELECTIONS = ("track", "largest")
SMOOTHINGS = ("clip", "running_median", "none")
OPENCV_HINT = 'pip install "social-mae-hf[face]" (opencv-python-headless>=4.8,<5)'
# Tracking: a box continues a track when its centre moved less than this many face sizes since the track's last
# box, and its size changed by less than this factor (sampled frames are 0.5 s apart: a talking head moves less).
LINK_MAX_SHIFT = 0.75
LINK_MAX_SIZE_RATIO = 1.6


# ----------------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class FaceCropSettings:
    """How to crop; plain JSON values, recorded in a saved processor config (`to_dict` / `from_dict`).

    Args:
        detector: A name in `FACE_DETECTORS` ("haar", "yunet", or one registered), or the name a user-supplied
            detector callable is recorded under.
        detector_kwargs: Keyword arguments of the detector's factory, e.g. `{"model_path": "yunet.onnx"}` for
            YuNet, `{"cascade": ..., "scale_factor": 1.1, "min_neighbors": 5}` for Haar.
        margin: Side of the square crop as a multiple of the face size (the larger side of the face box).
        selection: `"track"` (follow the face most present across frames: summed size x score) or `"largest"`
            (each frame's largest box).
        smoothing: Where the crop's centre goes over time: `"clip"` (one centre, the median over the clip),
            `"running_median"` (median over `smoothing_window` sampled frames around each) or `"none"`.
        smoothing_window: Window of `"running_median"`, in sampled frames (odd).
        min_size: Smallest face kept, as a fraction of the frame's shorter side (smaller ones are background
            faces or false detections, and would be blown up far past their resolution).
        min_frames: Share of the sampled frames the followed face must be seen in (at least one frame); else the
            clip is left whole and reported as `face_found=False`.
        detection_max_side: Frames whose longer side exceeds this are shrunk by an integer factor (box filter)
            for detection only; the crop is cut from the full-resolution frame. None: detect at full size.
    """

    detector: str = "haar"
    detector_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    margin: float = 1.3
    selection: str = "track"
    smoothing: str = "clip"
    smoothing_window: int = 3
    min_size: float = 0.1
    min_frames: float = 0.25
    detection_max_side: int | None = 640

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
# Detectors


def _import_cv2():
    try:
        import cv2
    except ImportError as err:
        raise ImportError(f"OpenCV face detectors need OpenCV: {OPENCV_HINT}") from err
    return cv2


def haar_face_detector(
    *,
    min_size: float = 0.1,
    cascade: str = "haarcascade_frontalface_default.xml",
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
) -> FaceDetector:
    """OpenCV's Viola-Jones frontal-face cascade, bundled in the `opencv-python-headless<5` wheel: CPU, offline.

    `cascade` is a file name in `cv2.data.haarcascades` or a path. The score is the number of neighbouring
    raw detections merged into each box (higher is surer). Frontal faces only; profiles are often missed.
    """
    cv2 = _import_cv2()
    path = cascade
    if not os.path.isfile(path):
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if folder is None:
            raise ImportError(
                f"OpenCV {cv2.__version__} ships no Haar cascades (OpenCV 5 wheels dropped them): {OPENCV_HINT}"
            )
        path = os.path.join(folder, cascade)
        if not os.path.isfile(path):
            raise ModelFilesError(f"Haar cascade {cascade!r}: no such file, nor in {folder}")
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():
        raise ModelFilesError(f"Haar cascade {path}: OpenCV cannot read it as a cascade")

    def detect(frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        side = max(1, round(min_size * min(gray.shape)))
        boxes, neighbours = classifier.detectMultiScale2(
            gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(side, side)
        )
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        return [(*map(float, box), float(n)) for box, n in zip(boxes, np.asarray(neighbours).reshape(-1))]

    return detect


def yunet_face_detector(
    *,
    model_path: str | None = None,
    min_size: float = 0.0,
    score_threshold: float = 0.7,
    nms_threshold: float = 0.3,
    top_k: int = 50,
) -> FaceDetector:
    """YuNet (OpenCV Zoo's `face_detection_yunet_2023mar.onnx`, MIT) through `cv2.FaceDetectorYN`.

    More accurate than the Haar cascade on turned, small or badly lit faces; the model file is not in any wheel,
    so the user downloads it and passes `model_path`. `min_size` is applied by the cropper, not here.
    """
    cv2 = _import_cv2()
    if model_path is None:
        raise ValueError(
            "face detector 'yunet' needs detector_kwargs={'model_path': <face_detection_yunet_2023mar.onnx>} "
            "(OpenCV Zoo, models/face_detection_yunet)"
        )
    if not os.path.isfile(model_path):
        raise ModelFilesError(f"face detector 'yunet': model file {model_path}: no such file")
    if not hasattr(cv2, "FaceDetectorYN"):
        raise ImportError(f"OpenCV {cv2.__version__} has no FaceDetectorYN (needs >= 4.8): {OPENCV_HINT}")
    try:
        model = cv2.FaceDetectorYN.create(model_path, "", (320, 320), score_threshold, nms_threshold, top_k)
    except cv2.error as err:
        raise ModelFilesError(f"face detector 'yunet': {model_path}: OpenCV cannot load it as a YuNet model") from err

    def detect(frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        height, width = frame.shape[:2]
        model.setInputSize((width, height))
        _, faces = model.detect(np.ascontiguousarray(frame[..., ::-1]))  # YuNet reads BGR
        if faces is None:
            return []
        return [(float(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[-1])) for f in faces]

    return detect


FACE_DETECTORS: dict[str, Callable[..., FaceDetector]] = {"haar": haar_face_detector, "yunet": yunet_face_detector}
"""name -> factory(min_size=<fraction of the shorter side>, **detector_kwargs) -> detector callable."""


def register_face_detector(name: str, factory: Callable[..., FaceDetector]) -> None:
    """Make `factory` available as `FaceCropSettings(detector=name)`; it gets `min_size` and `detector_kwargs`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a face detector's name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise ValueError(f"face detector {name!r}: the factory must be callable, got {type(factory).__name__}")
    FACE_DETECTORS[name] = factory


def build_face_detector(name: str, *, min_size: float = 0.0, **kwargs) -> FaceDetector:
    """The detector registered as `name`, built with `kwargs`."""
    if name not in FACE_DETECTORS:
        raise ValueError(
            f"unknown face detector {name!r}; known: {sorted(FACE_DETECTORS)} (register_face_detector adds one, "
            "or pass the detector callable itself)"
        )
    return FACE_DETECTORS[name](min_size=min_size, **kwargs)


# ----------------------------------------------------------------------------------------------
# Cropping


@dataclass(frozen=True)
class FaceCrop:
    """A clip's crop.

    Attributes:
        frames: `(T, S, S, 3)` uint8 crops when a face was found; the input frames, whole, when not.
        face_found: Whether the crop follows a face (False: full-frame fallback).
        boxes: Per frame, the crop `(x, y, w, h)` in source pixels (the whole frame when no face was found).
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

    # -- detection ---------------------------------------------------------------------------------------

    def detect(self, frame: np.ndarray) -> list[Detection]:
        """Faces `(x, y, w, h, score)` in `frame`'s pixels (RGB uint8), at least `min_size`, largest first."""
        height, width = frame.shape[:2]
        factor = 1
        if self.settings.detection_max_side is not None:
            factor = max(1, math.ceil(max(height, width) / self.settings.detection_max_side))
        small = frame if factor == 1 else np.asarray(PIL.Image.fromarray(frame).reduce(factor))
        raw = self.detector(np.ascontiguousarray(small))
        found = _as_detections(raw)
        found[:, :4] *= factor
        smallest = self.settings.min_size * min(height, width)
        kept = [tuple(map(float, b)) for b in found if max(b[2], b[3]) >= smallest]
        return sorted(kept, key=lambda b: -b[2] * b[3])

    # -- the clip --------------------------------------------------------------------------------------

    def crop_clip(self, frames: np.ndarray, channel_order: str = "rgb") -> FaceCrop:
        """Crop `(T, H, W, 3)` uint8 frames (in `channel_order`, kept in the output) around the followed face."""
        frames = _check_frames(frames)
        if channel_order not in ("rgb", "bgr"):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        rgb = frames if channel_order == "rgb" else frames[..., ::-1]
        detections = [self.detect(np.ascontiguousarray(frame)) for frame in rgb]
        return self.crop_with_detections(frames, detections)

    def crop_with_detections(self, frames: np.ndarray, detections: Sequence[Sequence[Sequence[float]]]) -> FaceCrop:
        """The crop of `frames` given each frame's faces `(x, y, w, h[, score])` (the step after detection)."""
        count, height, width = frames.shape[:3]
        if len(detections) != count:
            raise ValueError(f"{len(detections)} lists of detections for {count} frames")
        followed = follow_face(detections, self.settings.selection)
        faces = [tuple(followed[t][:4]) if t in followed else None for t in range(count)]
        needed = max(1, math.ceil(self.settings.min_frames * count))
        if len(followed) < needed:
            return FaceCrop(frames, False, [(0, 0, width, height)] * count, faces)
        boxes = crop_boxes(
            followed,
            count,
            width,
            height,
            margin=self.settings.margin,
            smoothing=self.settings.smoothing,
            window=self.settings.smoothing_window,
        )
        side = boxes[0][2]
        out = np.empty((count, side, side, 3), np.uint8)
        for t, (x, y, _, _) in enumerate(boxes):
            out[t] = frames[t, y : y + side, x : x + side]
        return FaceCrop(out, True, boxes, faces)


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


def _as_detections(raw) -> np.ndarray:
    """A detector's output as an (N, 5) float array of (x, y, w, h, score); a clear error when it is not boxes."""
    try:
        boxes = np.asarray(list(raw), np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"a face detector must return a list of (x, y, w, h, score) boxes, got {raw!r}") from err
    if boxes.size == 0:
        return np.zeros((0, 5))
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5) or not np.all(np.isfinite(boxes)):
        raise ValueError(f"a face detector must return a list of (x, y, w, h, score) boxes, got {raw!r}")
    if boxes.shape[1] == 4:
        boxes = np.concatenate([boxes, np.ones((len(boxes), 1))], axis=1)
    if np.any(boxes[:, 4] < 0):
        raise ValueError(f"a face detector's scores must be >= 0 (higher is surer), got {boxes[:, 4].tolist()}")
    return boxes[(boxes[:, 2] > 0) & (boxes[:, 3] > 0)]


def _centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _size(box: Box) -> float:
    return max(box[2], box[3])


def _weight(box: Sequence[float]) -> float:
    """What a detection adds to its track: its size times its score (1 when the detector gave none)."""
    return _size(box) * (box[4] if len(box) > 4 else 1.0)


def _link_cost(previous: Box, box: Box) -> float | None:
    """How far `box` moved from `previous`, in face sizes; None when it is too far or too resized to be the same."""
    big, small = max(_size(previous), _size(box)), min(_size(previous), _size(box))
    if big > LINK_MAX_SIZE_RATIO * small:
        return None
    (px, py), (x, y) = _centre(previous), _centre(box)
    shift = math.hypot(x - px, y - py) / big
    return shift if shift <= LINK_MAX_SHIFT else None


def follow_face(detections: Sequence[Sequence[Sequence[float]]], selection: str = "track") -> dict[int, tuple]:
    """Frame index -> the followed face's detection `(x, y, w, h[, score])`, for the frames where it was seen.

    `"largest"`: each frame's largest box. `"track"`: greedy linking (the closest box-track pairs first) of each
    frame's boxes to the tracks so far, new tracks for the rest; the track with the largest sum of size x score
    wins (the earliest-started one on a tie).
    """
    if selection == "largest":
        return {t: max(boxes, key=lambda b: b[2] * b[3]) for t, boxes in enumerate(detections) if len(boxes)}
    if selection != "track":
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    tracks: list[dict[int, tuple]] = []
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
    if not tracks:
        return {}
    return max(tracks, key=lambda track: sum(_weight(b) for b in track.values()))


def crop_boxes(
    followed: dict[int, Sequence[float]],
    count: int,
    width: int,
    height: int,
    *,
    margin: float = 1.3,
    smoothing: str = "clip",
    window: int = 3,
) -> list[tuple[int, int, int, int]]:
    """Per frame, the square crop `(x, y, side, side)` around the followed face, inside a `width` x `height` frame.

    The side is `margin` x the median face size, at most the frame's shorter side; the centre is smoothed as
    `smoothing` says (see the module docstring), then the square is shifted inside the frame where it would cross
    an edge.
    """
    if not followed:
        raise ValueError("crop_boxes needs at least one frame with a face")
    seen = sorted(followed)
    side = int(min(round(margin * float(np.median([_size(followed[t]) for t in seen]))), width, height))
    side = max(side, 1)
    centres = {t: _centre(followed[t]) for t in seen}
    if smoothing == "clip":
        middle = _median_point([centres[t] for t in seen])
        per_frame = [middle] * count
    elif smoothing in ("running_median", "none"):
        half = window // 2 if smoothing == "running_median" else 0
        per_frame = []
        for t in range(count):
            near = [s for s in seen if abs(s - t) <= half]
            if not near:  # the face was missed around t: hold the nearest frame where it was seen
                near = [min(seen, key=lambda s: (abs(s - t), s))]
            per_frame.append(_median_point([centres[s] for s in near]))
    else:
        raise ValueError(f"smoothing must be one of {SMOOTHINGS}, got {smoothing!r}")
    boxes = []
    for cx, cy in per_frame:
        x = min(max(round(cx - side / 2), 0), width - side)
        y = min(max(round(cy - side / 2), 0), height - side)
        boxes.append((int(x), int(y), side, side))
    return boxes


def _median_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    x, y = np.median(np.asarray(points, np.float64), axis=0)
    return float(x), float(y)


def draw_box(frame: np.ndarray, box: Sequence[float], colour=(255, 0, 0), thickness: int = 2) -> np.ndarray:
    """A copy of `frame` (H, W, 3 uint8) with the outline of `box` (x, y, w, h) drawn inside its edges."""
    out = frame.copy()
    height, width = out.shape[:2]
    x, y, w, h = (float(v) for v in box[:4])
    x0, y0, x1, y1 = max(0, round(x)), max(0, round(y)), min(width, round(x + w)), min(height, round(y + h))
    if x1 <= x0 or y1 <= y0:
        return out
    t = max(1, thickness)
    colour = np.asarray(colour, np.uint8)
    out[y0 : min(y0 + t, y1), x0:x1] = colour
    out[max(y1 - t, y0) : y1, x0:x1] = colour
    out[y0:y1, x0 : min(x0 + t, x1)] = colour
    out[y0:y1, max(x1 - t, x0) : x1] = colour
    return out
