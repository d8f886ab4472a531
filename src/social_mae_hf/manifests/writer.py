"""Writing `train.csv`, `validation.csv` and `test.csv` (paths relative to them) all or nothing, and the summary."""

from __future__ import annotations

import csv
import os
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from ..files import ReplacedAtEnd
from .table import SPLITS, DatasetLayoutError, ManifestTable

__all__ = ["LEFT_OUT_FILE", "summarize", "write_manifests"]

# Every file found but not written to a manifest, with the reason, one per line.
LEFT_OUT_FILE = "left_out.txt"


def write_manifests(table: ManifestTable, output_dir: str | os.PathLike, *, overwrite: bool = False) -> dict[str, Path]:
    """Write the three manifests (and `left_out.txt` when files were left out); returns split -> path.

    Each file is written to a temporary file first; they are moved into place together once all are written, so
    an interrupted run leaves the earlier manifests (or none), never a part of one.
    """
    output_dir = Path(output_dir)
    targets = {split: output_dir / f"{split}.csv" for split in SPLITS}
    existing = [str(p) for p in (*targets.values(), output_dir / LEFT_OUT_FILE) if p.exists()]
    if existing and not overwrite:
        raise DatasetLayoutError(f"{', '.join(existing)} already exist(s); pass --overwrite to replace")
    base = Path(os.path.abspath(output_dir))
    with ExitStack() as stack:
        for split, target in targets.items():
            output = stack.enter_context(ReplacedAtEnd(target))
            with output.path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, fieldnames=table.columns)
                writer.writeheader()
                for row in table.splits[split]:
                    writer.writerow(_relative(row, table.media_columns, base))
        left_out_path = output_dir / LEFT_OUT_FILE
        if table.left_out:
            output = stack.enter_context(ReplacedAtEnd(left_out_path))
            output.path.write_text("".join(f"{path}\t{why}\n" for path, why in table.left_out), encoding="utf-8")
    if not table.left_out:
        left_out_path.unlink(missing_ok=True)  # an earlier run's list would describe other files
    return targets


def _relative(row: dict[str, str], media_columns: tuple[str, ...], base: Path) -> dict[str, str]:
    out = dict(row)
    for column in media_columns:
        # abspath, not resolve: a dataset of symbolic links (a cache's blobs) keeps its own file names
        out[column] = Path(os.path.relpath(os.path.abspath(row[column]), base)).as_posix()
    return out


def summarize(table: ManifestTable, shown: int = 10) -> str:
    """Per split: clips, speakers and class counts (or target means); then notes and the left-out files."""
    lines = []
    for split in SPLITS:
        rows = table.splits[split]
        parts = [f"{len(rows)} clips"]
        if table.speaker_column:
            parts.append(f"{len({row[table.speaker_column] for row in rows})} speakers")
        if table.label_column and rows:
            counts = Counter(row[table.label_column] for row in rows)
            parts.append(", ".join(f"{label} {counts[label]}" for label in sorted(counts)))
        if table.target_columns and rows:
            means = (sum(float(row[c]) for row in rows) / len(rows) for c in table.target_columns)
            parts.append("mean " + ", ".join(f"{c} {m:.3f}" for c, m in zip(table.target_columns, means)))
        lines.append(f"{split}: " + "; ".join(parts))
    lines.extend(table.notes)
    if table.left_out:
        lines.append(f"{len(table.left_out)} file(s) left out (all in {LEFT_OUT_FILE}):")
        lines.extend(f"  {path}: {why}" for path, why in table.left_out[:shown])
        if len(table.left_out) > shown:
            lines.append(f"  ... and {len(table.left_out) - shown} more")
    return "\n".join(lines)
