"""Learnable synthetic audiovisual datasets: real clips with sound plus manifests, for tests and demos.

Three tasks, each written as one CSV (or JSON Lines) manifest per split with paths relative to it:

- `"classification"`: 4 classes = {low, high} tone x {circle, square} face. The tone is audible only, the
  shape (and its colour, tied to the shape so that a 32-pixel frame shows it) visible only, so a model that
  hears only or sees only can tell 2 of the 4 classes apart: 50% accuracy at best. Fusing both reaches 100%.
- `"regression"`: two targets in [0, 1], `pitch` (log-frequency of the tone, audio only) and `redness` (the
  face's colour, video only), so that each modality predicts one target.
- `"pretraining"`: unlabelled clips whose tone and colours (face and background) come from one hidden value
  per clip, so that which sound belongs to which picture can be learned (audio-video contrastive learning),
  even from the few patches that masking leaves.

Everything is seeded and per-clip nuisances vary (tone jitter, background, motion path) so that the task
is not one memorised picture.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .clips import write_clip

__all__ = [
    "CLASSIFICATION_LABELS",
    "SYNTHETIC_TASKS",
    "write_synthetic_dataset",
]

SYNTHETIC_TASKS = ("classification", "regression", "pretraining")
TONES_HZ = {"low": 350.0, "high": 1400.0}
SHAPE_COLOURS = {"circle": (230, 60, 40), "square": (40, 90, 240)}
CLASSIFICATION_LABELS = tuple(f"{tone}_{shape}" for tone in TONES_HZ for shape in SHAPE_COLOURS)
_PITCH_RANGE_HZ = (250.0, 2000.0)


def _pitch_to_hz(pitch: float) -> float:
    low, high = _PITCH_RANGE_HZ
    return float(math.exp(math.log(low) + pitch * (math.log(high) - math.log(low))))


def _redness_colour(redness: float) -> tuple[int, int, int]:
    return (int(30 + 220 * redness), 70, int(250 - 220 * redness))


def _clip_settings(task: str, index: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """(write_clip arguments, manifest columns) of clip `index`."""
    if task == "classification":
        label = CLASSIFICATION_LABELS[index % len(CLASSIFICATION_LABELS)]
        tone, shape = label.split("_")
        jitter = rng.uniform(0.95, 1.05)
        colour = np.clip(np.asarray(SHAPE_COLOURS[shape]) + rng.integers(-20, 21, 3), 0, 255)
        clip = {"tone_hz": TONES_HZ[tone] * jitter, "shape": shape, "color": tuple(int(c) for c in colour)}
        return clip, {"label": label}
    if task == "regression":
        pitch, redness = rng.uniform(0.0, 1.0, 2)
        shape = ("circle", "square")[int(rng.integers(0, 2))]
        clip = {"tone_hz": _pitch_to_hz(pitch), "shape": shape, "color": _redness_colour(redness)}
        return clip, {"pitch": round(float(pitch), 6), "redness": round(float(redness), 6)}
    if task == "pretraining":
        hidden = float(rng.uniform(0.0, 1.0))
        shape = ("circle", "square", "triangle")[int(rng.integers(0, 3))]
        # The background carries the hidden value too, so that any unmasked video patch shows it.
        background = tuple(int(0.6 * c) for c in _redness_colour(hidden))
        clip = {"tone_hz": _pitch_to_hz(hidden), "shape": shape, "color": _redness_colour(hidden)}
        return {**clip, "background": background}, {}
    raise ValueError(f"task must be one of {SYNTHETIC_TASKS}, got {task!r}")


def write_synthetic_dataset(
    root: str | os.PathLike,
    task: str = "classification",
    *,
    num_clips: Mapping[str, int] | None = None,
    duration_s: float = 1.0,
    fps: float = 8.0,
    size: int = 32,
    audio: str = "tone",
    manifest_format: str = "csv",
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Path]:
    """Write `num_clips[split]` mp4 clips (with an audio track) per split and one manifest per split.

    Args:
        root: Folder to write into (created); clips go to `root/<split>/`, manifests to `root/<split>.csv`.
        task: `"classification"`, `"regression"` or `"pretraining"` (see the module docstring).
        num_clips: Clips per split, default `{"train": 64, "validation": 32}`. Classification cycles through
            the classes, so a multiple of 4 gives balanced splits.
        duration_s, fps, size: Clip length, frame rate and (square) frame side; small values keep it fast.
        audio: `"tone"` or `"speech"` (a voice whose fundamental is the tone).
        manifest_format: `"csv"` or `"jsonl"`.
        seed: Seeds every split (each split and clip gets its own stream).

    Returns:
        split name -> manifest path. The manifest's `video` column holds paths relative to the manifest. Each
        split folder also gets a `metadata.csv` / `metadata.jsonl`, so `datasets.load_dataset(root)` reads the
        same splits as a video folder (column `video`).
    """
    if manifest_format not in ("csv", "jsonl"):
        raise ValueError(f"manifest_format must be 'csv' or 'jsonl', got {manifest_format!r}")
    if task not in SYNTHETIC_TASKS:
        raise ValueError(f"task must be one of {SYNTHETIC_TASKS}, got {task!r}")
    num_clips = dict(num_clips or {"train": 64, "validation": 32})
    _check_settings(num_clips, duration_s, fps, size)
    root = Path(root)
    manifests = {}
    total = sum(num_clips.values())
    bar = tqdm(total=total, desc=f"synthetic {task} clips", disable=not progress)
    for split_index, (split, count) in enumerate(num_clips.items()):
        (root / split).mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([seed, split_index])
        rows = []
        for i in range(count):
            clip, columns = _clip_settings(task, i, rng)
            relative = f"{split}/{i:05d}.mp4"
            write_clip(
                root / relative,
                duration_s=duration_s,
                fps=fps,
                width=size,
                height=size,
                audio=audio,
                seed=int(rng.integers(0, 2**31)),
                **clip,
            )
            rows.append({"video": relative, **columns})
            bar.update()
        manifests[split] = _write_manifest(root / f"{split}.{manifest_format}", rows)
        # The same rows as `datasets` video-folder metadata, so that `root` is also a `load_dataset` folder.
        metadata = [
            {"file_name": row["video"].split("/", 1)[1], **{k: v for k, v in row.items() if k != "video"}}
            for row in rows
        ]
        _write_manifest(root / split / f"metadata.{manifest_format}", metadata)
    bar.close()
    return manifests


MIN_SIZE = 16  # one patch of the models' 16-px grid


def _check_settings(num_clips: Mapping[str, int], duration_s: float, fps: float, size: int) -> None:
    """Refuse settings that would write empty or unusable clips, naming the argument."""
    for split, count in num_clips.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"num_clips={split}={count}: a clip count must be a whole number >= 0")
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_SIZE:
        raise ValueError(f"size={size}: frames must be at least {MIN_SIZE} px square (one 16-px patch of the models)")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps={fps}: must be a positive number of frames per second")
    if not (isinstance(duration_s, (int, float)) and math.isfinite(duration_s) and round(duration_s * fps) >= 1):
        raise ValueError(f"duration_s={duration_s}: must be at least one frame long ({1 / fps:g} s at {fps:g} fps)")


def _write_manifest(path: Path, rows: list[dict]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
        return path
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["video"])
        writer.writeheader()
        writer.writerows(rows)
    return path
