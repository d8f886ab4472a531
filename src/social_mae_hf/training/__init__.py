"""Fine-tuning and pretraining with the transformers `Trainer` (and Accelerate for several devices).

The example scripts `examples/run_finetune.py` and `examples/run_pretrain.py` hold their arguments and the run, as
transformers' examples do; this package holds what is specific to these models and data:

- `data`: clips through `datasets` (manifests, datasets, streams) or shards (`social_mae_hf.shards`, read with an
  exact resume), and the processor's decoding as a `set_transform`; `collator`: batching; `predictions`:
  `predictions.csv` (which classes a fine-tuning run predicts is decided in `run_finetune.py`);
- `model_init`: the model and processor a run starts from (`inflation` for a single-frame checkpoint into a
  multi-frame model); `unused_parameters`, `optimization`: what is frozen, the optimizer groups;
- `checkpoints`: the newest complete checkpoint to resume from, a run that already finished, the output lock;
- `trainer`: the `Trainer` subclasses (augmentation, class weights, losses), `augmentation`, `losses` (the metrics are `social_mae_hf.metrics`).

Needs the `train` extra (accelerate, datasets, scikit-learn).
"""

from ..metrics import MetricsComputer
from ..shards.dataset import ShardedClipDataset
from .arguments import DataArguments, ModelArguments
from .augmentation import Mixup, SpecAugment, TrainAugmentation
from .checkpoints import OutputDirInUse, lock_output_dir, resume_point
from .collator import SocialMAECollator
from .data import (
    ClipDecodeError,
    ClipTransform,
    ManifestColumns,
    ManifestError,
    TargetEncoder,
    decoded_dataset,
    load_clip_datasets,
)
from .inflation import inflate_state_dict, initialise_from_single_frame
from .losses import parse_class_weights
from .model_init import load_model_and_processor
from .optimization import freeze_backbone
from .predictions import write_predictions
from .script_support import run_script, setup_logging
from .trainer import SocialMAEPreTrainingTrainer, SocialMAETrainer

__all__ = [
    "ClipDecodeError",
    "ClipTransform",
    "DataArguments",
    "ManifestColumns",
    "ManifestError",
    "MetricsComputer",
    "Mixup",
    "ModelArguments",
    "OutputDirInUse",
    "ShardedClipDataset",
    "SocialMAECollator",
    "SocialMAEPreTrainingTrainer",
    "SocialMAETrainer",
    "SpecAugment",
    "TargetEncoder",
    "TrainAugmentation",
    "decoded_dataset",
    "freeze_backbone",
    "inflate_state_dict",
    "initialise_from_single_frame",
    "load_clip_datasets",
    "load_model_and_processor",
    "lock_output_dir",
    "parse_class_weights",
    "resume_point",
    "run_script",
    "setup_logging",
    "write_predictions",
]
