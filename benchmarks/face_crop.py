"""Face crop: detection rate and time per clip, for each available detector, against plain decode + resize.

Writes mp4 clips (h264, 25 fps, 6 s) of a real face (the public-domain fixture `tests/fixtures/face/astronaut_face.png`,
mirrored and re-lit per clip) pasted on a smooth random background at several sizes and places, drifting slowly;
faces turned in the image plane by 10 to 30 degrees; clips with two faces (a large one and a small one: the crop
should follow the large one); and clips with no face.
Then, per clip, in one process: the plain Social-MAE video path (`SocialMAEVideoProcessor.social_mae()` on the
file: decode of the 8 sampled frames + resize + normalise: the baseline), the face crop of the same 8 sampled frames
(detection + tracking + crop) and the whole video path with the crop (the same processor with `face_crop` set: decode
+ crop + resize), timed alternately; and whether the crop is right: the mean IoU, over the 8 frames, of the crop with
the ideal one (1.3 x the true face size around the true face centre, shifted inside the frame) is at least 0.5. The
processor's crops are checked equal to the cropper's.

    PYTHONPATH=src python benchmarks/face_crop.py --workdir /tmp/bench_face [--yunet-model yunet.onnx]
"""

from __future__ import annotations

import argparse
import fractions
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import PIL.Image
import torch

from social_mae_hf.face_crop import FaceCropper, FaceCropSettings
from social_mae_hf.frame_sampling import social_mae_frame_indices, social_mae_window_start
from social_mae_hf.media import MediaFile
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor

ROOT = Path(__file__).resolve().parents[1]
FACE_PNG = ROOT / "tests" / "fixtures" / "face" / "astronaut_face.png"
FACE_IN_PATCH = 95 / 160  # the face box (centred) in the fixture, as a fraction of its side
FPS, SECONDS = 25, 6.0
RESOLUTIONS = ((640, 360), (1280, 720))
PATCH_SIDES = (0.25, 0.4, 0.6, 0.9)  # fixture side / frame height: faces of 0.15 to 0.53 of the frame height
PLACES = ("centre", "top left", "bottom right")
TILTS = (10, 20, 30)  # in-plane turns of the head, degrees


@dataclass
class Clip:
    path: Path
    group: str
    faces: list[tuple[float, float, float]]  # the followed face's centre x, centre y and size at time 0
    drift: tuple[float, float]  # its centre's motion in pixels per second


def scene(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    coarse = rng.integers(30, 200, size=(height // 40 + 2, width // 40 + 2, 3), dtype=np.uint8)
    return np.asarray(PIL.Image.fromarray(coarse).resize((width, height), PIL.Image.Resampling.BICUBIC))


def face_patch(side: int, rng: np.random.Generator, tilt: float = 0.0) -> np.ndarray:
    """The fixture at `side` pixels, mirrored or not, re-lit, turned by `tilt` degrees (in-plane)."""
    image = PIL.Image.open(FACE_PNG).convert("RGB")
    if rng.random() < 0.5:
        image = image.transpose(PIL.Image.Transpose.FLIP_LEFT_RIGHT)
    image = image.resize((side, side), PIL.Image.Resampling.BILINEAR).rotate(tilt, PIL.Image.Resampling.BILINEAR)
    patch = np.asarray(image, np.float32)
    return np.clip(patch * rng.uniform(0.7, 1.2), 0, 255).astype(np.uint8)


def disc(side: int) -> np.ndarray:
    """The disc inscribed in a side x side square: only it is pasted, so a turned patch shows no corners."""
    yy, xx = np.mgrid[0:side, 0:side] + 0.5
    return (yy - side / 2) ** 2 + (xx - side / 2) ** 2 <= (side / 2) ** 2


def write_video(path: Path, width: int, height: int, patches, rng: np.random.Generator) -> None:
    """An h264 clip of `scene` with each (patch, x0, y0, dx, dy) pasted at (x0 + dx t, y0 + dy t), t in seconds."""
    background = scene(width, height, rng)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for i in range(round(SECONDS * FPS)):
            frame = background.copy()
            for patch, x0, y0, dx, dy in patches:
                x, y = round(x0 + dx * i / FPS), round(y0 + dy * i / FPS)
                region = frame[y : y + patch.shape[0], x : x + patch.shape[1]]
                mask = disc(patch.shape[0])
                region[mask] = patch[mask]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def place(name: str, width: int, height: int, side: int, drift: int) -> tuple[int, int]:
    span = drift * SECONDS
    if name == "centre":
        return (width - side - span) // 2, (height - side) // 2
    if name == "top left":
        return 0, 0
    return int(width - side - span), height - side


def clip_specs() -> list[tuple[str, str, int, int, list[tuple]]]:
    """(name, group, width, height, faces): each face (side, x, y, dx, dy, tilt), the followed one first."""
    specs = []
    for width, height in RESOLUTIONS:
        for fraction in PATCH_SIDES:
            side = round(fraction * height)
            drift = round(0.02 * side)  # 2% of the face's patch per second: a talking head's sway
            group = f"{height}p, face {FACE_IN_PATCH * fraction:.2f} of height"
            for where in PLACES:
                x, y = place(where, width, height, side, drift)
                name = f"face_{height}p_{fraction:g}_{where.replace(' ', '_')}"
                specs.append((name, group, width, height, [(side, x, y, drift, 0, 0)]))
        for tilt in TILTS:
            side = round(0.4 * height)
            x, y = place("centre", width, height, side, 0)
            group = f"{height}p, face {FACE_IN_PATCH * 0.4:.2f}, turned {tilt}°"
            specs.append((f"tilt_{height}p_{tilt}", group, width, height, [(side, x, y, 0, 0, tilt)]))
        for k, (big, small) in enumerate(((0.6, 0.25), (0.4, 0.25), (0.9, 0.4))):
            big_side, small_side = round(big * height), round(small * height)
            faces = [
                (big_side, width // 10 + k * 20, (height - big_side) // 2, 2, 0, 0),
                (small_side, width - small_side - 10, 10 + k * 30, 0, 0, 0),
            ]
            specs.append((f"two_faces_{height}p_{k}", f"{height}p, two faces", width, height, faces))
        specs += [(f"no_face_{height}p_{k}", f"{height}p, no face", width, height, []) for k in range(6)]
    return specs


def make_clips(workdir: Path) -> list[Clip]:
    """Write the clips of `clip_specs` that `workdir` lacks (each from its own seed, so reruns reuse them)."""
    workdir.mkdir(parents=True, exist_ok=True)
    clips = []
    for seed, (name, group, width, height, faces) in enumerate(clip_specs()):
        path = workdir / f"{name}.mp4"
        if not path.exists():
            rng = np.random.default_rng(seed)
            patches = [(face_patch(side, rng, tilt), x, y, dx, dy) for side, x, y, dx, dy, tilt in faces]
            write_video(path, width, height, patches, rng)
        truth = [(x + side / 2, y + side / 2, side * FACE_IN_PATCH) for side, x, y, *_ in faces[:1]]
        clips.append(Clip(path, group, truth, (faces[0][3], faces[0][4]) if faces else (0, 0)))
    return clips


def sampled_frames(path: Path) -> tuple[np.ndarray, list[float]]:
    """The 8 RGB frames the Social-MAE preset samples (centred window), and their times."""
    with MediaFile(path) as media:
        info = media.video_info()
        fps = float(info.fps)
        indices = social_mae_frame_indices(info.num_frames, fps, social_mae_window_start(info.num_frames, fps))
        times = [fractions.Fraction(k) / info.fps for k in indices]
        return media.read_frames_at(times, channel_order="rgb"), [float(t) for t in times]


def iou(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def ideal_box(clip: Clip, t: float, width: int, height: int, margin: float) -> tuple[float, ...]:
    cx, cy, size = clip.faces[0]
    cx, cy = cx + clip.drift[0] * t, cy + clip.drift[1] * t
    side = min(margin * size, width, height)
    x = min(max(cx - side / 2, 0), width - side)
    y = min(max(cy - side / 2, 0), height - side)
    return x, y, side, side


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def run(detectors: dict[str, FaceCropper], clips: list[Clip]) -> None:
    plain = SocialMAEVideoProcessor.social_mae()
    cropping = {name: plain.with_settings(face_crop=c.settings.to_dict()) for name, c in detectors.items()}
    plain(str(clips[0].path))  # warm up
    for name, cropper in detectors.items():
        cropper.crop_clip(sampled_frames(clips[0].path)[0])
        cropping[name](str(clips[0].path))
    rows: dict[tuple[str, str], dict[str, list[float]]] = {}
    for clip in clips:
        frames, times = sampled_frames(clip.path)
        height, width = frames.shape[1:3]
        t_plain, _ = timed(lambda clip=clip: plain(str(clip.path)))
        for name, cropper in detectors.items():
            t_crop, result = timed(lambda cropper=cropper, frames=frames: cropper.crop_clip(frames))
            video = cropping[name]
            t_wired, wired = timed(lambda video=video, clip=clip: video(str(clip.path), return_face_crop=True))
            if bool(wired["face_found"][0]) != result.face_found or wired["face_boxes"][0].tolist() != [
                list(b) for b in result.boxes
            ]:
                raise AssertionError(f"{clip.path}, {name}: the processor's crop differs from the cropper's")
            row = rows.setdefault((name, clip.group), {"found": [], "right": [], "crop": [], "plain": [], "wired": []})
            row["found"].append(result.face_found)
            if clip.faces:
                margin = cropper.settings.margin
                ious = [iou(box, ideal_box(clip, t, width, height, margin)) for box, t in zip(result.boxes, times)]
                row["right"].append(result.face_found and statistics.mean(ious) >= 0.5)
            row["crop"].append(t_crop)
            row["plain"].append(t_plain)
            row["wired"].append(t_wired)
    print(
        f"\n{len(clips)} clips of {SECONDS:g} s at {FPS} fps; 8 sampled frames per clip; torch threads {torch.get_num_threads()}"
    )
    print(
        "\n| detector | clips | n | face found | right crop | crop ms/clip | plain decode+resize ms/clip | crop / plain "
        "| processor with crop ms/clip | processor with crop / plain |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, group), row in rows.items():
        found = f"{sum(row['found'])}/{len(row['found'])}"
        right = f"{sum(row['right'])}/{len(row['right'])}" if row["right"] else "-"
        crop, base = statistics.median(row["crop"]) * 1e3, statistics.median(row["plain"]) * 1e3
        wired = statistics.median(row["wired"]) * 1e3
        print(
            f"| {name} | {group} | {len(row['found'])} | {found} | {right} | {crop:.1f} | {base:.1f} | {crop / base:.2f}x "
            f"| {wired:.1f} | {wired / base:.2f}x |"
        )
    print(
        "\n| detector | face clips: found | face clips: right crop | no-face clips: found (false) | crop / plain, all clips "
        "| processor with crop / plain, all clips |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name in detectors:
        mine = [(group, row) for (n, group), row in rows.items() if n == name]
        faces = [r for g, r in mine if "no face" not in g]
        empty = [r for g, r in mine if "no face" in g]
        found = sum(sum(r["found"]) for r in faces), sum(len(r["found"]) for r in faces)
        right = sum(sum(r["right"]) for r in faces)
        false = sum(sum(r["found"]) for r in empty), sum(len(r["found"]) for r in empty)
        ratio = sum(sum(r["crop"]) for _, r in mine) / sum(sum(r["plain"]) for _, r in mine)
        wired = sum(sum(r["wired"]) for _, r in mine) / sum(sum(r["plain"]) for _, r in mine)
        print(
            f"| {name} | {found[0]}/{found[1]} | {right}/{found[1]} | {false[0]}/{false[1]} | {ratio:.2f}x "
            f"| {wired:.2f}x |"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/social_mae_face_benchmark"))
    parser.add_argument("--yunet-model", default=None, help="face_detection_yunet_2023mar.onnx, to add YuNet")
    args = parser.parse_args(argv)
    clips = make_clips(args.workdir)
    detectors = {
        "haar": FaceCropper(FaceCropSettings(detector="haar")),
        "haar, full resolution": FaceCropper(FaceCropSettings(detector="haar", detection_max_side=None)),
        "haar, scale_factor 1.2": FaceCropper(FaceCropSettings(detector="haar", detector_kwargs={"scale_factor": 1.2})),
    }
    if args.yunet_model:
        yunet = FaceCropSettings(detector="yunet", detector_kwargs={"model_path": args.yunet_model})
        detectors["yunet"] = FaceCropper(yunet)
    run(detectors, clips)


if __name__ == "__main__":
    main()
