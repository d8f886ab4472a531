"""Fine-tuning and pretraining with the transformers `Trainer` (and Accelerate for several devices).

The example scripts `examples/run_finetune.py` and `examples/run_pretrain.py` parse arguments and call
[`run_finetune`] / [`run_pretrain`]; the parts below are reusable on their own. Needs the `train` extra
(accelerate, datasets, scikit-learn).
"""

from ..hub import HubPushError, HubUnavailableError, check_hub_available
from .arguments import DataArguments, FinetuneArguments, ModelArguments, PretrainArguments
from .augmentation import Mixup, SpecAugment, TrainAugmentation
from .data.clip_dataset import ClipDataset, ClipDecodeError, DecodeFailure
from .data.collator import SocialMAECollator
from .data.manifest import ClipRecord, ManifestColumns, ManifestError, read_manifest, read_manifest_splits
from .data.records import load_dataset_splits, records_from_dataset
from .data.splits import load_clip_splits
from .data.targets import TargetEncoder
from .finetune import run_finetune
from .inflation import inflate_state_dict, initialise_from_single_frame
from .losses import balanced_class_weights, weighted_classification_loss
from .metrics import (
    MetricsComputer,
    classification_metrics,
    multi_label_metrics,
    pretraining_metrics,
    regression_metrics,
)
from .model_init import load_model_and_processor
from .optimization import freeze_backbone, parameter_groups
from .pretrain import run_pretrain
from .trainer import SocialMAEPreTrainingTrainer, SocialMAETrainer
from .unused_parameters import freeze_unused_parameters, unused_parameter_names

__all__ = [
    "ClipDataset",
    "ClipDecodeError",
    "ClipRecord",
    "DataArguments",
    "DecodeFailure",
    "FinetuneArguments",
    "HubPushError",
    "HubUnavailableError",
    "ManifestColumns",
    "ManifestError",
    "MetricsComputer",
    "Mixup",
    "ModelArguments",
    "PretrainArguments",
    "SocialMAECollator",
    "SocialMAEPreTrainingTrainer",
    "SocialMAETrainer",
    "SpecAugment",
    "TargetEncoder",
    "TrainAugmentation",
    "balanced_class_weights",
    "check_hub_available",
    "classification_metrics",
    "freeze_backbone",
    "freeze_unused_parameters",
    "inflate_state_dict",
    "initialise_from_single_frame",
    "load_clip_splits",
    "load_dataset_splits",
    "load_model_and_processor",
    "multi_label_metrics",
    "parameter_groups",
    "pretraining_metrics",
    "read_manifest",
    "read_manifest_splits",
    "records_from_dataset",
    "regression_metrics",
    "run_finetune",
    "run_pretrain",
    "unused_parameter_names",
    "weighted_classification_loss",
]
