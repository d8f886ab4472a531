"""MTCNN (Zhang et al. 2016), the default face detector: three small CNNs in plain torch, weights shipped with us.

Why this one: on real photographs it finds turned, tilted, small, dark and partly hidden faces that OpenCV's Haar
cascade misses (see benchmarks/README.md, "Face crop"), it needs nothing beyond torch (no torchvision, no
download) and its weights are 2 MB. The weights (`face_mtcnn.safetensors`, beside this file) are facenet-pytorch
2.6.0's `pnet.pt`, `rnet.pt`, `onet.pt` (PyPI wheel, MIT licence, (c) 2019 Timothy Esler; ported by it from David
Sandberg's facenet, MIT), stored as safetensors. The network and the cascade below are written from the paper.

The cascade: P-Net scores every 12 x 12 window of an image pyramid and proposes boxes; R-Net (24 x 24) and O-Net
(48 x 48) re-score and refine the survivors; non-maximum suppression after each stage.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .errors import ModelFilesError

WEIGHTS_FILE = "face_mtcnn.safetensors"
PYRAMID_FACTOR = 0.709  # each pyramid level is this much smaller than the one before (the paper's value)
CELL = 12  # P-Net's window, in pixels of its pyramid level
MAX_PROPOSALS = 200  # P-Net's best boxes that go on to R-Net (textures can propose thousands)


class _PNet(nn.Module):
    """Proposal net: fully convolutional, a face probability and a box offset per 12 x 12 window (stride 2)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return F.softmax(self.conv4_1(x), dim=1)[:, 1], self.conv4_2(x)


class _RNet(nn.Module):
    """Refinement net on 24 x 24 crops."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))  # the ported weights flatten (W, H, C)
        return F.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)


class _ONet(nn.Module):
    """Output net on 48 x 48 crops (its landmark head is loaded but unused: the crop needs only the box)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x):
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return F.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x)


def weights_path() -> str:
    """The shipped weights: beside this module, or in the installed package when this module runs as remote code."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), WEIGHTS_FILE)
    if os.path.isfile(here):
        return here
    # Found, not imported: importing the package from here would close an import circle through its registration.
    spec = importlib.util.find_spec("social_mae_hf")
    installed = os.path.join(os.path.dirname(spec.origin), WEIGHTS_FILE) if spec and spec.origin else None
    if installed and os.path.isfile(installed):
        return installed
    raise ModelFilesError(
        f"face detector 'mtcnn': its weights {WEIGHTS_FILE} are missing (they ship inside the social-mae-hf "
        "package: pip install social-mae-hf)"
    )


@functools.lru_cache(maxsize=1)
def _networks() -> tuple[_PNet, _RNet, _ONet]:
    from safetensors.torch import load_file

    state = load_file(weights_path())
    nets = (_PNet(), _RNet(), _ONet())
    for prefix, net in zip(("pnet", "rnet", "onet"), nets):
        net.load_state_dict({k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + ".")})
        net.eval().requires_grad_(False)
    return nets


def _nms(boxes: np.ndarray, threshold: float, overlap: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression of `boxes` (N, 5: x1, y1, x2, y2, score), best first."""
    x1, y1, x2, y2, score = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], boxes[:, 4]
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-score, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        base = np.minimum(area[i], area[rest]) if overlap == "min" else area[i] + area[rest] - inter
        order = rest[inter / np.maximum(base, 1e-9) <= threshold]
    return np.asarray(keep, np.int64)


def _refine(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by the nets' offsets (fractions of the box's width / height), then made square."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    out = boxes.copy()
    out[:, :4] += offsets * np.stack([w, h, w, h], axis=1)
    side = np.maximum(out[:, 2] - out[:, 0], out[:, 3] - out[:, 1])
    cx, cy = (out[:, 0] + out[:, 2]) / 2, (out[:, 1] + out[:, 3]) / 2
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2
    return out


def _crops(image: torch.Tensor, boxes: np.ndarray, size: int, supersample: int = 3) -> torch.Tensor:
    """`size` x `size` crops of `image` (1, 3, H, W) at `boxes`, zero (mid-grey) outside the image.

    One `grid_sample` for all boxes (their grids stacked as one tall image), at `supersample` x the size, then
    averaged down: a box far larger than `size` is not aliased.
    """
    height, width = image.shape[-2:]
    n, fine = len(boxes), size * supersample
    steps = (torch.arange(fine, dtype=torch.float32) + 0.5) / fine  # where each output pixel samples, in [0, 1]
    x1, y1, x2, y2 = (torch.from_numpy(boxes[:, k].astype(np.float32))[:, None] for k in range(4))
    xs = (x1 + (x2 - x1) * steps) / width * 2 - 1  # (N, fine) in grid_sample's [-1, 1] (align_corners=False)
    ys = (y1 + (y2 - y1) * steps) / height * 2 - 1
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)  # (N, fine, fine, 2)
    sampled = F.grid_sample(image, grid.reshape(1, n * fine, fine, 2), padding_mode="zeros", align_corners=False)
    sampled = sampled.reshape(3, n, fine, fine).transpose(0, 1)
    return F.avg_pool2d(sampled, supersample) if supersample > 1 else sampled


def detect_faces(
    frame: np.ndarray, min_face: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
) -> list[tuple[float, float, float, float, float]]:
    """Faces `(x, y, w, h, probability)` in an (H, W, 3) uint8 RGB frame, no smaller than `min_face` pixels.

    Runs on one thread: the nets' convolutions are too small to share out, and on 2 cores a second thread made a
    640 x 360 frame cost 5x the CPU time (0.54 s against 0.10 s).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _detect(frame, min_face, thresholds)
    finally:
        torch.set_num_threads(threads)


@torch.inference_mode()
def _detect(
    frame: np.ndarray, min_face: float = 20.0, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
) -> list[tuple[float, float, float, float, float]]:
    pnet, rnet, onet = _networks()
    height, width = frame.shape[:2]
    image = (torch.from_numpy(np.array(frame, np.float32)).permute(2, 0, 1)[None] - 127.5) / 128.0
    min_face = max(float(min_face), float(CELL))
    scale = CELL / min_face
    proposals = []
    while min(height, width) * scale >= CELL:
        level = F.interpolate(
            image, size=(math.ceil(height * scale), math.ceil(width * scale)), mode="bilinear", antialias=True
        )
        prob, offsets = pnet(level)
        rows, cols = np.nonzero(prob[0].numpy() >= thresholds[0])
        if rows.size:
            x1, y1 = 2 * cols / scale, 2 * rows / scale
            found = np.stack([x1, y1, x1 + CELL / scale, y1 + CELL / scale, prob[0].numpy()[rows, cols]], axis=1)
            found = np.concatenate([found, offsets[0].numpy()[:, rows, cols].T], axis=1)
            proposals.append(found[_nms(found, 0.5)])
        scale *= PYRAMID_FACTOR
    if not proposals:
        return []
    boxes = np.concatenate(proposals)
    boxes = boxes[_nms(boxes, 0.7)][:MAX_PROPOSALS]  # best first
    boxes = _refine(boxes[:, :5], boxes[:, 5:9])
    for net, size, threshold, last in ((rnet, 24, thresholds[1], False), (onet, 48, thresholds[2], True)):
        if not len(boxes):
            return []
        prob, offsets = net(_crops(image, boxes, size))
        keep = prob.numpy() >= threshold
        boxes, offsets = boxes[keep], offsets.numpy()[keep]
        boxes[:, 4] = prob.numpy()[keep]
        if last:
            boxes = _refine(boxes, offsets)
            boxes = boxes[_nms(boxes, 0.7, "min")]
        else:
            kept = _nms(boxes, 0.7)
            boxes = _refine(boxes[kept], offsets[kept])
    return [(float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1]), float(b[4])) for b in boxes]
