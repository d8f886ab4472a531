"""Training data: which clips (manifests or `datasets` datasets, or shards and `datasets` streams read as training
goes), their targets, decoding them in DataLoader workers and batching them; packing clips into shards."""

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
from .precomputed import PRECOMPUTE_CHOICES
from .records import DatasetMedia, StreamedSplit, load_dataset_splits, records_from_dataset, stream_dataset_splits
from .shard_writer import ShardLimits, write_split_shards
from .shards import ShardSet, open_shards
from .splits import SPLITS, ClipSplits, load_clip_splits, split_dataset
from .streaming import ClipStream, ShardedClipDataset, StreamedClipDataset, clip_count, clip_records
from .targets import TargetEncoder, classes_of

__all__ = [
    "DECODE_ERROR_POLICIES",
    "MODALITY_CHOICES",
    "PRECOMPUTE_CHOICES",
    "SPLITS",
    "ClipDataset",
    "ClipDecodeError",
    "ClipRecord",
    "ClipSplits",
    "ClipStream",
    "DatasetMedia",
    "DecodeFailure",
    "ManifestColumns",
    "ManifestError",
    "ShardLimits",
    "ShardSet",
    "ShardedClipDataset",
    "SocialMAECollator",
    "StreamedClipDataset",
    "StreamedSplit",
    "TargetEncoder",
    "classes_of",
    "clip_count",
    "clip_records",
    "load_clip_splits",
    "load_dataset_splits",
    "open_shards",
    "optional_column",
    "read_manifest",
    "read_manifest_splits",
    "records_from_dataset",
    "split_dataset",
    "stream_dataset_splits",
    "write_split_shards",
]
