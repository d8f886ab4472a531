"""The command-line arguments both example scripts share, as `HfArgumentParser` dataclasses (as `TrainingArguments`
is transformers'): where the model starts from, and which clips with which media columns. Each script adds its own
(the fine-tuning task and labels; the pretraining losses)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..loading import face_crop_from_flags
from .data import DECODE_ERROR_POLICIES, ManifestColumns, optional_column
from .inflation import VIDEO_INIT_CHOICES

__all__ = ["DataArguments", "ModelArguments"]


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
    processor_name: str | None = field(
        default=None,
        metadata={
            "help": "Processor folder / Hub id (default: the checkpoint's own, required then; with --config_name, the "
            "family preset sized to the config)."
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


@dataclass
class DataArguments:
    """Which clips, and which columns hold their media (the labels' columns are the fine-tuning script's)."""

    train_file: str | None = field(default=None, metadata={"help": "Training manifest (.csv, .tsv, .jsonl, .json)."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation manifest."})
    manifest: str | None = field(
        default=None, metadata={"help": "One manifest holding every split, with a --split_column."}
    )
    split_column: str | None = field(default=None, metadata={"help": "Column naming each row's split."})
    train_split_name: str = field(default="train", metadata={"help": "Split value / dataset split for training."})
    validation_split_name: str = field(default="validation", metadata={"help": "... for validation."})
    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "A `datasets` dataset instead of manifests: a save_to_disk folder, a local data folder, or a Hub "
            "name (needs the Hub)."
        },
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "The dataset's configuration."})
    streaming: bool = field(
        default=False,
        metadata={
            "help": "Read --dataset_name as a stream (`datasets` streaming) instead of listing it; needs --max_steps."
        },
    )
    train_shards: str | None = field(
        default=None,
        metadata={
            "help": "Training shards instead of a manifest: a folder written by `social-mae shard` (with its index.json), "
            "a brace pattern such as 'shards/train/train-{000000..000099}.tar', or any fsspec URL (s3://, gs://, ...)."
        },
    )
    validation_shards: str | None = field(default=None, metadata={"help": "Validation shards (as --train_shards)."})
    shuffle_buffer_size: int = field(
        default=1000,
        metadata={"help": "Streams: training clips each DataLoader worker shuffles among (held undecoded in memory)."},
    )
    use_precomputed_features: bool = field(
        default=True,
        metadata={
            "help": "Shards: use the fbank / frames stored by `social-mae shard --precompute` instead of decoding."
        },
    )
    video_column: str | None = field(
        default="video", metadata={"help": "Media path column (a video with its sound); 'none' for audio files only."}
    )
    audio_column: str | None = field(
        default=None, metadata={"help": "Separate audio path column (replaces the video's sound)."}
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

    face_crop: str | None = field(
        default=None,
        metadata={
            "help": "Crop the sampled frames around the face before the resize (for footage that is not face-centred, "
            "as the originals' training clips were): 'mtcnn' (the default when the flag is given alone; its "
            "weights ship with the package), 'haar' (OpenCV's Haar cascade; pip install 'social-mae-hf[face]'), "
            "'yunet' (needs --face_detector_model), or 'none' (no crop, even if the processor has one). Saved with the processor, so that inference crops alike; the "
            "share of clips without a face (whole frames used) is logged and in the metrics.",
            "nargs": "?",
            "const": "mtcnn",
            "choices": ["mtcnn", "haar", "yunet", "none"],
        },
    )
    face_margin: float | None = field(
        default=None, metadata={"help": "Face crop: side of the square crop / the face size (default 1.3)."}
    )
    face_detector_model: str | None = field(
        default=None,
        metadata={"help": "Face crop: the detector's model file (YuNet's ONNX file, or a Haar cascade XML)."},
    )

    def __post_init__(self):
        self.video_column = optional_column(self.video_column)
        self.audio_column = optional_column(self.audio_column)
        # Checked now (a bad option fails before any clip is read), and kept in the one form a processor takes.
        self.face_crop_settings = face_crop_from_flags(
            self.face_crop, face_margin=self.face_margin, face_detector_model=self.face_detector_model
        )

    def columns(self, label: str | None = None, targets: tuple[str, ...] = ()) -> ManifestColumns:
        """Where the media, the split and (fine-tuning) the targets are."""
        return ManifestColumns(
            video=self.video_column, audio=self.audio_column, label=label, targets=targets, split=self.split_column
        )
