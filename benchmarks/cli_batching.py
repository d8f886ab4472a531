"""`--batch-size` on long recordings: clips (windows) per second at batch 1 and batch 8, full-size model.

What `social-mae predict MODEL a.mp4 b.mp4 --chunk-length-s 2 --batch-size B` runs: the classification pipeline over
two files cut into 2 s windows; at batch 8 the windows of both files are stacked into one forward (a file's last
windows share a forward with the next file's first ones). Full-size Social-MAE (768 wide, 11+1 layers, 1024 audio
frames, 8 frames of 224 px) with random weights (speed does not depend on them), float32. Batch 1 and batch 8 runs
alternate in one process and each batch-8 run is divided by the batch-1 run just before it (the median of these
ratios is reported), so that load from elsewhere on the machine cancels out; the scores of both must agree.

    python benchmarks/cli_batching.py --workdir /tmp/bench-batching       # ~4 minutes on 2 CPU cores
    python benchmarks/cli_batching.py --device cuda --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

import social_mae_hf  # noqa: F401  (registers the pipelines)
from social_mae_hf import SocialMAEConfig, SocialMAEForAudioVisualClassification, SocialMAEProcessor, synthetic
from social_mae_hf.cli.inputs import load_command_pipeline
from social_mae_hf.pipelines import CLASSIFICATION_TASK


def prepare(workdir: Path, seconds: float) -> tuple[str, list[str]]:
    """A full-size random classification model folder and two talking-face clips (reused when already there)."""
    model = workdir / "social-mae-random"
    if not (model / "config.json").is_file():
        torch.manual_seed(0)
        config = SocialMAEConfig.social_mae(id2label=dict(enumerate(["a", "b", "c", "d", "e", "f"])))
        SocialMAEForAudioVisualClassification(config).save_pretrained(model)
        SocialMAEProcessor.for_model_config(config).save_pretrained(model)
    clips = []
    for i, tone in enumerate((140.0, 220.0)):
        clip = workdir / f"talk{i}-{seconds:g}s.mp4"
        if not clip.is_file():
            synthetic.write_clip(clip, duration_s=seconds, fps=25, width=320, height=240, audio="speech", tone_hz=tone)
        clips.append(str(clip))
    return str(model), clips


def timed(classifier, clips: list[str], batch_size: int, chunk: float) -> tuple[float, list]:
    start = time.perf_counter()
    with torch.inference_mode():
        result = classifier(clips, batch_size=batch_size, chunk_length_s=chunk, top_k=6)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/bench-batching")
    parser.add_argument("--seconds", type=float, default=8.0, help="Length of each of the two clips.")
    parser.add_argument("--chunk-length-s", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="(batch 1, batch N) pairs.")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model, clips = prepare(workdir, args.seconds)
    classifier = load_command_pipeline(CLASSIFICATION_TASK, model, device=args.device)
    timed(classifier, clips[:1], 1, args.seconds)  # warm-up: one window
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {classifier.device}")
    ratios, rates = [], {1: [], args.batch_size: []}
    worst = 0.0
    for _ in range(args.repeats):
        one, single = timed(classifier, clips, 1, args.chunk_length_s)
        many, batched = timed(classifier, clips, args.batch_size, args.chunk_length_s)
        count = sum(len(t) for t in single)
        rates[1].append(count / one)
        rates[args.batch_size].append(count / many)
        ratios.append(one / many)
        for a, b in zip((w for t in single for w in t), (w for t in batched for w in t)):
            scores = {row["label"]: row["score"] for row in a["scores"]}
            worst = max(worst, *(abs(scores[row["label"]] - row["score"]) for row in b["scores"]))
        print(f"  batch 1: {one:.2f} s, batch {args.batch_size}: {many:.2f} s for {count} windows")
    print(f"{len(clips)} files x {args.seconds:g} s in {args.chunk_length_s:g} s windows")
    for size, values in rates.items():
        print(f"batch {size}: {statistics.median(values):.3f} clips/s (median of {len(values)})")
    print(f"batch {args.batch_size} / batch 1 speed: {statistics.median(ratios):.2f}x (median of per-pair ratios)")
    print(f"largest score difference, batch {args.batch_size} vs batch 1: {worst:.2e}")


if __name__ == "__main__":
    main()
