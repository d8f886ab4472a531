"""Manifests read back: one path for every reader (the training scripts, `predict`, `evaluate`), through
`datasets.load_dataset("csv" | "json")`. CSV/TSV cells are read as text, so that a class named `01` or `NA` stays
as written; CAV-MAE's `{"data": [...]}` JSON datafiles are read from their `data` field."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

from ..errors import ManifestError

__all__ = ["MANIFEST_BUILDERS", "load_manifest", "media_path", "quiet_datasets"]

MANIFEST_BUILDERS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json"}


def load_manifest(path: str | os.PathLike, cache_dir: str | None = None):
    """One manifest as a `datasets.Dataset`, CSV/TSV cells read as text (class names like `01` stay as written)."""
    import datasets

    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in MANIFEST_BUILDERS:
        raise ManifestError(f"{path}: unsupported manifest type {suffix!r}; use one of {tuple(MANIFEST_BUILDERS)}")
    if not file.is_file():
        raise ManifestError(f"manifest {path} does not exist")
    options: dict[str, Any] = {}
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, [])
            # pandas would take a first column without a header as the index (shifting every cell), or drop
            # surplus cells: a row with more cells than the header is an error here.
            for number, cells in enumerate(reader, start=1):
                if len(cells) > len(header):
                    raise ManifestError(
                        f"{file.name} row {number} (line {reader.line_num}): "
                        f"more cells than the {len(header)} header columns"
                    )
        if not header:
            raise ManifestError(f"{path}: empty manifest (no header row)")
        if len(set(header)) != len(header):
            raise ManifestError(f"{path}: a column name appears twice in the header {header}")
        # Every cell as text: class names like `01` stay as written (targets are parsed and checked later).
        features = datasets.Features({name: datasets.Value("string") for name in header})
        options = {
            "delimiter": delimiter,
            "features": features,
            "encoding": "utf-8-sig",
            "keep_default_na": False,
            "index_col": False,
        }
    elif suffix == ".json" and file.read_text(encoding="utf-8").lstrip().startswith("{"):
        options = {"field": "data"}  # CAV-MAE's {"data": [...]} datafiles
    try:
        with quiet_datasets():
            dataset = datasets.load_dataset(
                MANIFEST_BUILDERS[suffix], data_files=str(file), split="train", cache_dir=cache_dir, **options
            )
    except Exception as error:  # pandas / pyarrow parse errors have no common base
        if "corresponds to no data" in str(error):
            raise ManifestError(f"{path}: the manifest has no rows") from None
        raise ManifestError(f"{path}: cannot read the manifest ({type(error).__name__}: {error})") from error
    if len(dataset) == 0:
        raise ManifestError(f"{path}: the manifest has no rows")
    return dataset


class quiet_datasets:
    """No `datasets` progress bars for loading a small table (they would fill a training log)."""

    def __enter__(self):
        import datasets

        self.enabled = datasets.utils.is_progress_bar_enabled()
        datasets.utils.disable_progress_bars()

    def __exit__(self, *exc):
        import datasets

        if self.enabled:
            datasets.utils.enable_progress_bars()


def media_path(value: str, base: Path | None) -> str:
    """A manifest's media cell as a path: `~` expanded, a relative path taken from `base` (the manifest's folder;
    `None`: left relative)."""
    path = Path(os.path.expanduser(value.strip()))
    return str(path if path.is_absolute() or base is None else base / path)
