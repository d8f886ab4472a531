"""Command-line arguments of the fine-tuning and pretraining scripts (parsed with `HfArgumentParser` next to
`transformers.TrainingArguments`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .data.clip_dataset import DECODE_ERROR_POLICIES, MODALITY_CHOICES
from .data.manifest import ManifestColumns
from .inflation import VIDEO_INIT_CHOICES

__all__ = ["DataArguments", "FinetuneArguments", "ModelArguments", "PretrainArguments"]

FINETUNE_TASKS = ("classification", "multi_label_classification", "regression")


def _optional_column(value: str | None) -> str | None:
    return None if value is None or value.strip().lower() in ("", "none") else value.strip()


@dataclass
class ModelArguments:
    """Where the model starts from."""

    model_name_or_path: str | None = field(
        default=None,
        metadata={"help": "A converted checkpoint folder or Hub id to start from (`social-mae convert` makes one)."},
    )
    config_name: str | None = field(
        default=None,
        metadata={
            "help": "Train from scratch instead: a preset ('social-mae', 'cav-mae') or a config folder / Hub id."
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Config changes as key=value pairs separated by commas, e.g. "
            "'hidden_size=64,num_attention_heads=4' or 'num_frames=8,tubelet_size=2' (with --video_init)."
        },
    )
    feature_extractor_name: str | None = field(
        default=None,
        metadata={
            "help": "Processor folder / Hub id (default: the checkpoint's own; for --config_name, the family preset)."
        },
    )
    video_init: str | None = field(
        default=None,
        metadata={
            "help": "Starting a multi-frame model from a single-frame CAV-MAE checkpoint: 'inflate' (repeat its "
            "2D video weights over time) or 'reinit' (fresh video embedding, as the Social-MAE paper).",
            "choices": list(VIDEO_INIT_CHOICES),
        },
    )
    attn_implementation: str | None = field(
        default=None, metadata={"help": "'sdpa' or 'eager' attention (default: transformers' choice, sdpa)."}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where Hub downloads are cached."})
    model_revision: str = field(default="main", metadata={"help": "Hub revision (branch, tag or commit)."})
    token: str | None = field(default=None, metadata={"help": "Hub token for private models/datasets."})

    def loading_kwargs(self) -> dict:
        """These arguments as `load_model_and_processor` takes them."""
        return {
            "model_name_or_path": self.model_name_or_path,
            "config_name": self.config_name,
            "config_overrides": self.config_overrides,
            "processor_name": self.feature_extractor_name,
            "video_init": self.video_init,
            "attn_implementation": self.attn_implementation,
            "cache_dir": self.cache_dir,
            "revision": self.model_revision,
            "token": self.token,
        }


@dataclass
class DataArguments:
    """Which clips, and which columns hold what."""

    train_file: str | None = field(default=None, metadata={"help": "Training manifest (.csv, .tsv, .jsonl, .json)."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation manifest."})
    test_file: str | None = field(default=None, metadata={"help": "Test manifest (--do_predict)."})
    manifest: str | None = field(
        default=None, metadata={"help": "One manifest holding every split, with a --split_column."}
    )
    split_column: str | None = field(default=None, metadata={"help": "Column naming each row's split."})
    train_split_name: str = field(default="train", metadata={"help": "Split value / dataset split for training."})
    validation_split_name: str = field(default="validation", metadata={"help": "... for validation."})
    test_split_name: str = field(default="test", metadata={"help": "... for testing."})
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "A `datasets` dataset instead of manifests: a save_to_disk folder, a local data folder, or a Hub "
            "name (needs the Hub)."
        },
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "The dataset's configuration."})
    video_column: str | None = field(
        default="video", metadata={"help": "Media path column (a video with its sound); 'none' for audio files only."}
    )
    audio_column: str | None = field(
        default=None, metadata={"help": "Separate audio path column (replaces the video's sound)."}
    )
    label_column: str = field(default="label", metadata={"help": "Class name column (or class names, multi-label)."})
    target_columns: str | None = field(
        default=None, metadata={"help": "Regression: comma-separated float target columns, in output order."}
    )
    label_separator: str = field(
        default=",", metadata={"help": "Separator of class names in a multi-label cell (or use a JSON list)."}
    )
    on_decode_error: str = field(
        default="abort",
        metadata={
            "help": "A clip that is missing or cannot be decoded: 'abort' the run naming it, or 'skip' it (it is "
            "reported by path and counted).",
            "choices": list(DECODE_ERROR_POLICIES),
        },
    )
    max_train_samples: int | None = field(default=None, metadata={"help": "Use only the first N training clips."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Use only the first N validation clips."})
    max_predict_samples: int | None = field(default=None, metadata={"help": "Use only the first N test clips."})

    def __post_init__(self):
        self.video_column = _optional_column(self.video_column)
        self.audio_column = _optional_column(self.audio_column)
        if self.dataset_name and (self.train_file or self.validation_file or self.test_file or self.manifest):
            raise ValueError("give --dataset_name or manifest files, not both")
        if self.manifest and (self.train_file or self.validation_file or self.test_file):
            raise ValueError("give --manifest (with --split_column) or per-split files, not both")
        if self.manifest and not self.split_column:
            raise ValueError("--manifest needs --split_column (the column naming each row's split)")

    def columns(self, task: str) -> ManifestColumns:
        targets = tuple(c.strip() for c in (self.target_columns or "").split(",") if c.strip())
        if task == "regression" and not targets:
            raise ValueError("regression needs --target_columns (comma-separated float columns)")
        if task != "regression" and targets:
            raise ValueError(f"--target_columns is for regression, not {task!r}")
        return ManifestColumns(
            video=self.video_column,
            audio=self.audio_column,
            label=self.label_column if task in ("classification", "multi_label_classification") else None,
            targets=targets,
            split=self.split_column,
        )

    @property
    def split_names(self) -> dict[str, str]:
        return {"train": self.train_split_name, "validation": self.validation_split_name, "test": self.test_split_name}


@dataclass
class _RunArguments:
    overwrite_output_dir: bool = field(
        default=False,
        metadata={"help": "Start afresh even if --output_dir holds checkpoints (default: resume from the last one)."},
    )


@dataclass
class FinetuneArguments(_RunArguments):
    """The fine-tuning task and its recipe."""

    task: str = field(
        default="classification",
        metadata={"help": "What the labels are.", "choices": list(FINETUNE_TASKS)},
    )
    modality: str = field(
        default="audiovisual",
        metadata={
            "help": "Inputs the model sees (the originals' single-modality modes).",
            "choices": list(MODALITY_CHOICES),
        },
    )
    class_names: str | None = field(
        default=None,
        metadata={"help": "Comma-separated class names in output order (default: the checkpoint's, else sorted)."},
    )
    class_weights: str | None = field(
        default=None,
        metadata={"help": "'balanced' (n / (classes x count)) or one comma-separated weight per class."},
    )
    freeze_backbone: bool = field(default=False, metadata={"help": "Train the head only (a linear probe)."})
    head_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of the new head (default: --learning_rate)."}
    )
    freqm: int = field(default=0, metadata={"help": "SpecAugment: widest frequency mask in mel bins (CAV-MAE: 48)."})
    timem: int = field(default=0, metadata={"help": "SpecAugment: widest time mask in frames (CAV-MAE: 192)."})
    mixup: float = field(default=0.0, metadata={"help": "Probability that a training clip is mixed (CAV-MAE: 0.5)."})
    mixup_alpha: float = field(default=10.0, metadata={"help": "Mixup weight ~ Beta(alpha, alpha) (CAV-MAE: 10)."})


@dataclass
class PretrainArguments(_RunArguments):
    """Pretraining losses (default: the checkpoint's or preset's config)."""

    audio_mask_ratio: float | None = field(default=None, metadata={"help": "Share of audio tokens masked."})
    video_mask_ratio: float | None = field(default=None, metadata={"help": "Share of video tokens masked."})
    reconstruction_loss_weight: float | None = field(default=None, metadata={"help": "Weight of the MAE losses."})
    contrastive_loss_weight: float | None = field(default=None, metadata={"help": "Weight of the contrastive loss."})

    def config_updates(self) -> dict[str, float]:
        names = ("audio_mask_ratio", "video_mask_ratio", "reconstruction_loss_weight", "contrastive_loss_weight")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}
