"""Training data: which clips (manifests or `datasets` datasets), their targets, decoding them in DataLoader workers
and batching them."""

from .clip_dataset import DECODE_ERROR_POLICIES, MODALITY_CHOICES, ClipDataset, ClipDecodeError, DecodeFailure
from .collator import SocialMAECollator
from .manifest import (
    ClipRecord,
    ManifestColumns,
    ManifestError,
    optional_column,
    read_manifest,
    read_manifest_splits,
)
from .records import DatasetMedia, load_dataset_splits, records_from_dataset
from .splits import SPLITS, ClipSplits, load_clip_splits
from .targets import TargetEncoder, classes_of

__all__ = [
    "DECODE_ERROR_POLICIES",
    "MODALITY_CHOICES",
    "SPLITS",
    "ClipDataset",
    "ClipDecodeError",
    "ClipRecord",
    "ClipSplits",
    "DatasetMedia",
    "DecodeFailure",
    "ManifestColumns",
    "ManifestError",
    "SocialMAECollator",
    "TargetEncoder",
    "classes_of",
    "load_clip_splits",
    "load_dataset_splits",
    "optional_column",
    "read_manifest",
    "read_manifest_splits",
    "records_from_dataset",
]
