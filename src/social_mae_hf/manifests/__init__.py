"""Manifests for the public datasets' own layouts: read a dataset folder as it unpacks, write the `train.csv` /
`validation.csv` / `test.csv` that `examples/run_finetune.py` and `run_pretrain.py` read.

One module per layout, each returning a [`ManifestTable`]; `writer.py` writes any of them.
"""

from .crema_d import EMOTIONS, read_crema_d
from .first_impressions import TRAITS, read_first_impressions
from .folders import read_folders
from .safe_pickle import UnsafePickleError, load_plain_pickle
from .social_mae_layout import read_social_mae_layout
from .splitting import DEFAULT_RATIOS, parse_ratios
from .table import SPLITS, DatasetLayoutError, ManifestTable
from .voxceleb2 import read_voxceleb2
from .writer import LEFT_OUT_FILE, summarize, write_manifests

__all__ = [
    "DATASETS",
    "DEFAULT_RATIOS",
    "EMOTIONS",
    "LEFT_OUT_FILE",
    "SPLITS",
    "TRAITS",
    "DatasetLayoutError",
    "ManifestTable",
    "UnsafePickleError",
    "load_plain_pickle",
    "parse_ratios",
    "read_crema_d",
    "read_first_impressions",
    "read_folders",
    "read_social_mae_layout",
    "read_voxceleb2",
    "summarize",
    "write_manifests",
]

# `social-mae manifest DATASET` -> the reader of that layout.
DATASETS = {
    "crema-d": read_crema_d,
    "first-impressions": read_first_impressions,
    "voxceleb2": read_voxceleb2,
    "social-mae-layout": read_social_mae_layout,
    "folders": read_folders,
}
