"""Face detectors for the face crop: the named ones, the registry, and the checks on what any detector returns.

A detector is any callable `frame (H, W, 3) uint8 RGB -> [(x, y, w, h[, score]), ...]` in that frame's pixels.
By name (`FACE_DETECTORS`, `register_face_detector` adds one):

- `"mtcnn"` (the default): MTCNN in plain torch with weights shipped in this package (`face_mtcnn.py`).
- `"haar"`: OpenCV's frontal-face Haar cascade from the `opencv-python-headless<5` wheel (`[face]` extra); frontal
  faces only.
- `"yunet"`: OpenCV's YuNet, whose ONNX file the user supplies (`detector_kwargs={"model_path": ...}`).

Whatever a detector returns is checked (`as_detections`): boxes partly outside the frame are clipped to it, boxes
wholly outside it or larger than it are refused (the detector answered in another image's pixels), and an error
inside a detector is re-raised naming the detector and the frame (`FaceDetectorError`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from .errors import InvalidInputError, ModelFilesError

FaceDetector = Callable[[np.ndarray], Sequence[Sequence[float]]]
"""frame (H, W, 3) uint8 RGB -> boxes (x, y, w, h, score) in that frame's pixels; score >= 0, higher is surer
(its scale is the detector's own: only the ratios between one clip's detections matter); it may be left out (1)."""

OPENCV_HINT = 'pip install "social-mae-hf[face]" (opencv-python-headless>=4.8,<5)'


class FaceDetectorError(InvalidInputError):
    """A face detector that failed, or returned something that is not boxes in the frame it was given."""


def mtcnn_face_detector(*, min_size: float = 0.0, min_face_pixels: float = 20.0, thresholds=(0.6, 0.7, 0.7)):
    """MTCNN (`face_mtcnn.py`): finds faces down to `min_size` x the frame's shorter side, and never below
    `min_face_pixels` (its smallest reliable face). `thresholds`: the three stages' face probabilities."""
    from .face_mtcnn import _networks, detect_faces

    _networks()  # load the weights now: a missing file is an error at build time, not on the first clip
    if len(thresholds) != 3 or not all(isinstance(t, (int, float)) and 0 <= t <= 1 for t in thresholds):
        raise ValueError(f"face detector 'mtcnn': thresholds must be three probabilities, got {thresholds!r}")
    thresholds = tuple(float(t) for t in thresholds)

    def detect(frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        smallest = max(min_face_pixels, min_size * min(frame.shape[:2]))
        return detect_faces(frame, smallest, thresholds)

    return detect


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
    try:  # OpenCV raises cv2.error, or a SystemError from its bindings, on a file that is not a cascade
        classifier = cv2.CascadeClassifier(path)
        unreadable = classifier.empty()
    except (cv2.error, SystemError) as err:
        raise ModelFilesError(f"Haar cascade {path}: OpenCV cannot read it as a cascade ({err})") from None
    if unreadable:
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

    The model file is not in any wheel, so the user downloads it and passes `model_path`. `min_size` is applied by
    the cropper, not here.
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
    except (cv2.error, SystemError) as err:
        raise ModelFilesError(f"face detector 'yunet': {model_path}: OpenCV cannot load it as a YuNet model") from err

    def detect(frame: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        height, width = frame.shape[:2]
        model.setInputSize((width, height))
        _, faces = model.detect(np.ascontiguousarray(frame[..., ::-1]))  # YuNet reads BGR
        if faces is None:
            return []
        return [(float(f[0]), float(f[1]), float(f[2]), float(f[3]), float(f[-1])) for f in faces]

    return detect


FACE_DETECTORS: dict[str, Callable[..., FaceDetector]] = {
    "mtcnn": mtcnn_face_detector,
    "haar": haar_face_detector,
    "yunet": yunet_face_detector,
}
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


def as_detections(raw, width: int, height: int, detector: str = "face detector") -> np.ndarray:
    """A detector's output as an (N, 5) float array (x, y, w, h, score) inside a `width` x `height` frame.

    Boxes partly outside the frame are clipped to it (a face at the edge: its visible part). A box wholly outside
    the frame, or larger than it both ways, is an error: the detector answered in another image's pixels.
    """
    try:
        boxes = np.asarray(list(raw), np.float64)
    except (TypeError, ValueError) as err:
        raise FaceDetectorError(f"{detector} must return a list of (x, y, w, h, score) boxes, got {raw!r}") from err
    if boxes.size == 0:
        return np.zeros((0, 5))
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5) or not np.all(np.isfinite(boxes)):
        raise FaceDetectorError(f"{detector} must return a list of (x, y, w, h, score) boxes, got {raw!r}")
    if boxes.shape[1] == 4:
        boxes = np.concatenate([boxes, np.ones((len(boxes), 1))], axis=1)
    if np.any(boxes[:, 4] < 0):
        raise FaceDetectorError(f"{detector}: scores must be >= 0 (higher is surer), got {boxes[:, 4].tolist()}")
    boxes = boxes[(boxes[:, 2] > 0) & (boxes[:, 3] > 0)]
    x0, y0 = boxes[:, 0], boxes[:, 1]
    x1, y1 = x0 + boxes[:, 2], y0 + boxes[:, 3]
    outside = (x1 <= 0) | (y1 <= 0) | (x0 >= width) | (y0 >= height)
    too_big = (boxes[:, 2] > width) & (boxes[:, 3] > height)
    for name, bad in (("lies wholly outside", outside), ("is larger than", too_big)):
        if np.any(bad):
            box = [round(v, 1) for v in boxes[np.argmax(bad), :4].tolist()]
            raise FaceDetectorError(
                f"{detector} returned the box (x, y, w, h) = {box}, which {name} the {width} x {height} frame it "
                "was given: boxes must be in that frame's pixels"
            )
    cx0, cy0 = np.clip(x0, 0, width), np.clip(y0, 0, height)
    cx1, cy1 = np.clip(x1, 0, width), np.clip(y1, 0, height)
    return np.stack([cx0, cy0, cx1 - cx0, cy1 - cy0, boxes[:, 4]], axis=1)
