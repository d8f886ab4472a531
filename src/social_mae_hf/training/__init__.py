"""Fine-tuning and pretraining with the transformers `Trainer` (and Accelerate for several devices).

The example scripts `examples/run_finetune.py` and `examples/run_pretrain.py` hold their command-line arguments
and the run itself, as transformers' examples do; this package holds the parts they assemble, each usable on its
own and taking plain values:

- `data/`: which clips (manifests or `datasets` datasets, per split, or shards and `datasets` streams read as
  training goes), their targets, decoding in DataLoader workers, batching; packing clips into shards;
- `labels`: which classes a fine-tuning run predicts; `predictions`: `predictions.csv`;
- `model_init`: the model and processor a run starts from (`inflation` for a single-frame checkpoint
  into a multi-frame model); `unused_parameters`, `optimization`: what is frozen, the optimizer groups;
- `checkpoints`: the newest complete checkpoint to resume from, a run that already finished;
- `trainer`: the `Trainer` subclasses (augmentation, class weights, losses), `augmentation`, `losses`, `metrics`.

Needs the `train` extra (accelerate, datasets, scikit-learn).
"""

from ..hub import HubPushError, HubUnavailableError, check_hub_available
from .arguments import DataArguments, ModelArguments
from .augmentation import Mixup, SpecAugment, TrainAugmentation
from .checkpoints import (
    FinishedRun,
    OutputDirInUse,
    checkpoint_problems,
    finished_run,
    last_complete_checkpoint,
    lock_output_dir,
    resume_point,
)
from .data.clip_dataset import ClipDataset, ClipDecodeError, DecodeFailure
from .data.collator import SocialMAECollator
from .data.manifest import (
    ClipRecord,
    ManifestColumns,
    ManifestError,
    optional_column,
    read_manifest,
    read_manifest_splits,
)
from .data.records import load_dataset_splits, records_from_dataset
from .data.shards import ShardSet, open_shards
from .data.splits import ClipSplits, load_clip_splits, split_dataset
from .data.streaming import ShardedClipDataset, StreamedClipDataset, clip_count, clip_records
from .data.targets import TargetEncoder
from .inflation import inflate_state_dict, initialise_from_single_frame
from .labels import checkpoint_label_names, choose_label_names
from .losses import balanced_class_weights, weighted_classification_loss
from .metrics import (
    MetricsComputer,
    classification_metrics,
    multi_label_metrics,
    paper_metrics_line,
    pretraining_metrics,
    regression_metrics,
)
from .model_init import load_model_and_processor
from .optimization import freeze_backbone, parameter_groups
from .predictions import write_predictions
from .script_support import run_script, setup_logging
from .trainer import SocialMAEPreTrainingTrainer, SocialMAETrainer
from .unused_parameters import freeze_unused_parameters, unused_parameter_names

__all__ = [
    "ClipDataset",
    "ClipDecodeError",
    "ClipRecord",
    "ClipSplits",
    "DataArguments",
    "DecodeFailure",
    "FinishedRun",
    "HubPushError",
    "HubUnavailableError",
    "ManifestColumns",
    "ManifestError",
    "MetricsComputer",
    "Mixup",
    "ModelArguments",
    "OutputDirInUse",
    "ShardSet",
    "ShardedClipDataset",
    "SocialMAECollator",
    "SocialMAEPreTrainingTrainer",
    "SocialMAETrainer",
    "SpecAugment",
    "StreamedClipDataset",
    "TargetEncoder",
    "TrainAugmentation",
    "balanced_class_weights",
    "check_hub_available",
    "checkpoint_label_names",
    "checkpoint_problems",
    "choose_label_names",
    "classification_metrics",
    "clip_count",
    "clip_records",
    "finished_run",
    "freeze_backbone",
    "freeze_unused_parameters",
    "inflate_state_dict",
    "initialise_from_single_frame",
    "last_complete_checkpoint",
    "load_clip_splits",
    "load_dataset_splits",
    "load_model_and_processor",
    "lock_output_dir",
    "multi_label_metrics",
    "open_shards",
    "optional_column",
    "paper_metrics_line",
    "parameter_groups",
    "pretraining_metrics",
    "read_manifest",
    "read_manifest_splits",
    "records_from_dataset",
    "regression_metrics",
    "resume_point",
    "run_script",
    "setup_logging",
    "split_dataset",
    "unused_parameter_names",
    "weighted_classification_loss",
    "write_predictions",
]
