"""Training throughput on this machine: is the data pipeline the bottleneck, and what do sdpa / torch.compile buy?

1. Full-size fine-tuning step and pretraining step (batch 2, AdamW, forward + backward + update), fed by the
   real data pipeline -- synthetic mp4 clips decoded by the processor in 2 DataLoader workers
   (a `datasets.Dataset` decoded by its `set_transform` + `SocialMAECollator`, what the Trainer uses) -- versus the same step on pre-made tensors
   (the baseline, same process). A ratio near 1 means the pipeline keeps up. The pipeline's own rate (workers
   only, no model) is printed too, as headroom.
2. Training steps per second with eager attention, sdpa and `torch.compile` (sdpa), ratio to eager.
3. A small model, which is data-bound on 2 cores: with DataLoader workers, the main process's OpenMP threads
   spin while the workers decode; one main thread (or OMP_WAIT_POLICY=PASSIVE) avoids that.

    PYTHONPATH=src python benchmarks/training_throughput.py --workdir /tmp/bench_train
    PYTHONPATH=src python benchmarks/training_throughput.py --workdir /tmp/bench_train --steps 2 --no-compile
"""

import argparse
import sys
import time
from pathlib import Path

import datasets
import torch

from social_mae_hf import (
    SocialMAEConfig,
    SocialMAEForAudioVisualClassification,
    SocialMAEForPreTraining,
    SocialMAEProcessor,
)
from social_mae_hf.synthetic import write_clip
from social_mae_hf.training import ManifestColumns, SocialMAECollator, TargetEncoder, decoded_dataset

CLIP = dict(duration_s=6.0, fps=25, width=480, height=360, audio="speech")  # CREMA-D-like frames, 6 s of sound
SMALL = dict(
    hidden_size=64,
    num_attention_heads=4,
    num_modality_layers=2,
    num_fusion_layers=1,
    intermediate_size=128,
    audio_length=64,
    image_size=32,
    num_frames=4,
    tubelet_size=2,
    legacy_video_target_order=False,
    num_labels=4,
)


def write_clips(workdir: Path, count: int, **clip) -> list[Path]:
    workdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = workdir / f"clip{i:02d}_{clip['width']}x{clip['height']}.mp4"
        if not path.exists():
            write_clip(path, seed=i, tone_hz=120.0 + 20 * i, shape=("circle", "square")[i % 2], **clip)
        paths.append(path)
    return paths


def loader(paths, processor, batch: int, workers: int, steps: int, classes: int | None):
    names = tuple(str(i) for i in range(classes)) if classes else ()
    task = "classification" if classes else "pretraining"
    targets = TargetEncoder(task, names, ManifestColumns())
    count = batch * steps
    table = datasets.Dataset.from_dict(
        {
            "video": [str(paths[i % len(paths)]) for i in range(count)],
            "label": [str(i % classes) if classes else "" for i in range(count)],
            "_source": [f"clip {i}" for i in range(count)],
        }
    )
    dataset = decoded_dataset(table, processor, targets, split="train", training=True)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch, num_workers=workers, collate_fn=SocialMAECollator(), shuffle=False
    )


def premade(config, batch: int, classes: int | None) -> dict:
    generator = torch.Generator().manual_seed(0)
    inputs = {
        "input_values": torch.randn(batch, config.audio_length, config.num_mel_bins, generator=generator),
        "pixel_values": torch.randn(
            batch, config.num_frames, 3, config.image_size, config.image_size, generator=generator
        ),
    }
    if classes:
        inputs["labels"] = torch.arange(batch) % classes
    return inputs


def train_steps(model, batches, warmup: int) -> float:
    """Clips per second over the batches after `warmup` (the first ones also start the DataLoader workers)."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    model.train()
    clips, start = 0, None
    for step, batch in enumerate(batches):
        if step == warmup:
            start, clips = time.perf_counter(), 0
        model(**batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        clips += batch["input_values"].shape[0]
    return clips / (time.perf_counter() - start)


def pipeline_only(batches, warmup: int) -> float:
    clips, start = 0, None
    for step, batch in enumerate(batches):
        if step == warmup:
            start, clips = time.perf_counter(), 0
        clips += batch["input_values"].shape[0]
    return clips / (time.perf_counter() - start)


def repeat(inputs: dict, count: int):
    for _ in range(count):
        yield inputs


def pipeline_section(args, paths) -> None:
    print("\n## Full-size step with the data pipeline (2 workers) vs pre-made tensors, batch 2")
    print("| step | model alone (clips/s) | with pipeline (clips/s) | ratio | pipeline alone (clips/s) |")
    print("| --- | --- | --- | --- | --- |")
    for name, model_class, classes in (
        ("fine-tuning", SocialMAEForAudioVisualClassification, 6),
        ("pretraining", SocialMAEForPreTraining, None),
    ):
        config = SocialMAEConfig.social_mae(num_labels=6, legacy_video_target_order=False)
        processor = SocialMAEProcessor.for_model_config(config)
        torch.manual_seed(0)
        model = model_class(config)
        total = args.warmup + args.steps
        alone = train_steps(model, repeat(premade(config, 2, classes), total), args.warmup)
        fed = train_steps(model, loader(paths, processor, 2, 2, total, classes), args.warmup)
        data = pipeline_only(loader(paths, processor, 2, 2, 4 * total, classes), args.warmup)
        print(f"| {name} | {alone:.3f} | {fed:.3f} | {fed / alone:.2f}x | {data:.2f} |", flush=True)


def attention_section(args) -> None:
    print("\n## Fine-tuning step (batch 2) by attention implementation, pre-made tensors")
    print("| attention | clips/s | ratio to eager | first step (s) |")
    print("| --- | --- | --- | --- |")
    config = SocialMAEConfig.social_mae(num_labels=6, legacy_video_target_order=False)
    inputs = premade(config, 2, 6)
    variants = [("eager", "eager", False), ("sdpa", "sdpa", False)]
    if args.compile:
        variants.append(("sdpa + torch.compile", "sdpa", True))
    baseline = None
    for label, attention, compiled in variants:
        torch.manual_seed(0)
        model = SocialMAEForAudioVisualClassification._from_config(config, attn_implementation=attention)
        runner = torch.compile(model) if compiled else model
        start = time.perf_counter()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
        runner(**inputs).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        first = time.perf_counter() - start
        rate = train_steps(runner, repeat(inputs, args.steps), 0)
        baseline = baseline or rate
        print(f"| {label} | {rate:.3f} | {rate / baseline:.2f}x | {first:.1f} |", flush=True)


def small_model_section(args, workdir: Path) -> None:
    print("\n## Small model (64 wide, 32 px, 4 frames), batch 8: data-bound")
    print("| data loading | main-process threads | clips/s | ratio to 0 workers |")
    print("| --- | --- | --- | --- |")
    paths = write_clips(workdir / "small", 16, duration_s=1.0, fps=8, width=32, height=32, audio="tone")
    config = SocialMAEConfig.social_mae(**SMALL)
    processor = SocialMAEProcessor.for_model_config(config)
    threads = torch.get_num_threads()
    baseline = None
    for workers, main_threads in ((0, threads), (2, threads), (2, 1)):
        torch.set_num_threads(main_threads)
        torch.manual_seed(0)
        model = SocialMAEForAudioVisualClassification(config)
        rate = train_steps(model, loader(paths, processor, 8, workers, 4 + 3 * args.small_steps, 4), 4)
        baseline = baseline or rate
        print(f"| {workers} workers | {main_threads} | {rate:.1f} | {rate / baseline:.2f}x |", flush=True)
    torch.set_num_threads(threads)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/social_mae_training_benchmark"))
    parser.add_argument("--steps", type=int, default=3, help="timed full-size steps per measurement")
    parser.add_argument("--warmup", type=int, default=1, help="untimed full-size steps first")
    parser.add_argument("--small-steps", type=int, default=10, help="timed small-model steps / 3")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip torch.compile")
    parser.add_argument("--sections", default="pipeline,attention,small")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, python {sys.version.split()[0]}")
    sections = args.sections.split(",")
    if "pipeline" in sections:
        pipeline_section(args, write_clips(args.workdir, 8, **CLIP))
    if "attention" in sections:
        attention_section(args)
    if "small" in sections:
        small_model_section(args, args.workdir)


if __name__ == "__main__":
    main()
