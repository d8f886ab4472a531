"""`Trainer` subclasses: head/backbone learning rates, train-time augmentation, class weights, skipped-clip
counting, counting the clips where the face crop found no face, evaluation of the pretraining losses, and
DataLoaders for streams (each process reads its own part of the shards; a resumed run skips inside the shards
instead of decoding the skipped clips).

Everything else (devices, DDP / FSDP / DeepSpeed through Accelerate, mixed precision, gradient checkpointing,
`torch.compile`, checkpoints, resuming, logging, the Hub once checked) is the stock `transformers.Trainer`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from unittest.mock import patch

import torch
import transformers.trainer
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader
from transformers import ProcessorMixin, Trainer, TrainerState

from ..hub import HubPushError, check_hub_available
from ..metrics import PRETRAINING_STATS, MetricsComputer, paper_metrics_line
from ..shards.dataset import ShardedClipDataset
from .augmentation import TrainAugmentation
from .checkpoints import FinishedRun
from .collator import FACELESS_CLIPS_KEY, FACES_FOUND_KEY, SKIPPED_CLIPS_KEY
from .losses import weighted_classification_loss
from .optimization import parameter_groups

__all__ = ["SocialMAEPreTrainingTrainer", "SocialMAETrainer"]

logger = logging.getLogger(__name__)

_FACELESS_EXAMPLES = 5  # clips without a face named in the end-of-pass report


@dataclass
class _ClipCounts:
    """The clips of one training or evaluation pass skipped for failing to decode, cropped by the face crop, and
    among those without a face found (their whole frames were used; the first few are named)."""

    skipped: int = 0
    cropped: int = 0
    faceless: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, inputs: dict) -> None:
        """Count a batch's reports from the collator, taking them out of the model inputs."""
        if skipped := inputs.pop(SKIPPED_CLIPS_KEY, []):
            logger.warning("Skipped %d clip(s) that failed to decode: %s", len(skipped), "; ".join(skipped))
        found, faceless = inputs.pop(FACES_FOUND_KEY, []), inputs.pop(FACELESS_CLIPS_KEY, [])
        self.skipped, self.cropped = self.skipped + len(skipped), self.cropped + len(found)
        self.faceless += found.count(False)
        self.examples += faceless[: _FACELESS_EXAMPLES - len(self.examples)]

    def metrics(self, prefix: str = "") -> dict:
        """`skipped_clips`, and `clips_without_face` with its share of the clips cropped (when any was)."""
        metrics = {f"{prefix}skipped_clips": self.skipped}
        if self.cropped:
            metrics[f"{prefix}clips_without_face"] = self.faceless
            metrics[f"{prefix}clips_without_face_share"] = self.faceless / self.cropped
        return metrics


_TASK_OF_PROBLEM = {
    "single_label_classification": "classification",
    "multi_label_classification": "multi_label_classification",
    "regression": "regression",
}


class SocialMAETrainer(Trainer):
    """`Trainer` for the classification and regression models.

    Args (besides the `Trainer`'s):
        head_learning_rate: Learning rate of the `classifier` head; `None`: the backbone's (`args.learning_rate`).
        train_augmentation: Applied to each training batch on its device (SpecAugment, mixup); never to eval.
        class_weights: Per-class loss weights (single-label classification), replacing the model's loss.
        missing_files: Clips left out of each split (`train`, `validation`, `test`) before the run for a missing
            file (what `load_clip_datasets` returns beside the splits): reported in that split's metrics.

    Without `compute_metrics`, a classification or regression model gets its task's metrics (from its
    `problem_type`, when set), under its label or target names.

    With `--push_to_hub`, the Hub is checked before the `Trainer` creates the repo (offline, unreachable, no token:
    a clear error before anything is trained).

    The metrics of `train`, `evaluate` and `predict` hold the split's clip count (`train_samples`, ...; none for a
    `datasets` stream), the clips skipped for failing to decode and the files left out for missing.

    With a face-cropping processor, the clips where no face was found (their whole frames were used) are counted:
    `clips_without_face` (and its share of the clips cropped) in the training logs and in the metrics of `train`,
    `evaluate` and `predict` (`train_clips_without_face`, `eval_...`).
    """

    def __init__(
        self,
        *args,
        head_learning_rate: float | None = None,
        train_augmentation: TrainAugmentation | None = None,
        class_weights: torch.Tensor | None = None,
        missing_files: dict[str, int] | None = None,
        **kwargs,
    ):
        model = kwargs.get("model", args[0] if args else None)
        training_args = kwargs.get("args", args[1] if len(args) > 1 else None)
        problem = getattr(getattr(model, "config", None), "problem_type", None)
        if kwargs.get("compute_metrics") is None and problem in _TASK_OF_PROBLEM:
            # The task's metrics, under the model's label (or regression target) names.
            names = [model.config.id2label[i] for i in sorted(model.config.id2label)]
            kwargs["compute_metrics"] = MetricsComputer(_TASK_OF_PROBLEM[problem], names)
        if training_args is not None:
            # The media columns are what the `set_transform` decodes: the Trainer must not strip them as unused.
            training_args.remove_unused_columns = False
            if training_args.device.type == "cpu":  # pinning needs an accelerator (a warning per DataLoader)
                training_args.dataloader_pin_memory = False
            if training_args.push_to_hub:
                check_hub_available(token=training_args.hub_token)
        super().__init__(*args, **kwargs)
        self.missing_files = dict(missing_files or {})
        self.head_learning_rate = head_learning_rate
        self.train_augmentation = train_augmentation
        self.class_weights = class_weights
        # The training pass's clip counts (in its logs), and those of the pass under way (training or evaluation).
        self.train_counts = self.clip_counts = _ClipCounts()

    def train(self, *args, **kwargs):
        self.train_counts = self.clip_counts = _ClipCounts()
        # `Trainer.train` aligns the model's special tokens with `processing_class.tokenizer` for any processor
        # (transformers 5.25 `align_special_tokens`), which fails for one without a tokenizer such as
        # `SocialMAEProcessor` (audio and video: no text tokens to align): that step is skipped for those.
        skip = isinstance(self.processing_class, ProcessorMixin) and not hasattr(self.processing_class, "tokenizer")
        with patch.object(transformers.trainer, "align_special_tokens", lambda *_: None) if skip else nullcontext():
            output = super().train(*args, **kwargs)
        output.metrics.update(self._pass_metrics("train", self.train_dataset, self.train_counts))
        return output

    def evaluation_loop(
        self, dataloader, description, prediction_loss_only=None, ignore_keys=None, metric_key_prefix="eval"
    ):
        training, self.clip_counts = self.clip_counts, _ClipCounts()
        output = super().evaluation_loop(dataloader, description, prediction_loss_only, ignore_keys, metric_key_prefix)
        output.metrics.update(self._pass_metrics(metric_key_prefix, dataloader.dataset, self.clip_counts))
        self.clip_counts = training
        scores = self.compute_metrics
        if isinstance(scores, MetricsComputer) and (
            paper := paper_metrics_line(scores.task, output.metrics, metric_key_prefix, scores.names)
        ):
            logger.info("The paper's metrics, %s", paper)
        return output

    def _pass_metrics(self, prefix: str, dataset, counts: _ClipCounts) -> dict:
        """The pass's clip counts, the files left out before the run, and the split's clip count (none for a
        `datasets` stream). Clips without a face are said at the end of the pass, with a few names."""
        metrics = counts.metrics(f"{prefix}_")
        metrics[f"{prefix}_missing_files"] = self.missing_files.get("validation" if prefix == "eval" else prefix, 0)
        dataset = getattr(dataset, "dataset", dataset)  # Accelerate's IterableDatasetShard holds it
        if isinstance(dataset, ShardedClipDataset):
            metrics[f"{prefix}_samples"] = dataset.num_clips
        elif hasattr(dataset, "__len__"):  # not a `datasets` stream
            metrics[f"{prefix}_samples"] = len(dataset)
        if counts.faceless:
            logger.warning(
                "The face crop found no face in %d of %d %s clips (%.0f%%); their whole frames were used. E.g.: %s",
                counts.faceless,
                counts.cropped,
                prefix,
                100 * counts.faceless / counts.cropped,
                "; ".join(counts.examples),
            )
        return metrics

    def train_and_save(self, resume_from_checkpoint: str | None, finished: FinishedRun | None) -> dict:
        """`train`, then the model, metrics and state saved as transformers' examples do; returns the metrics. A run
        that already reached its end trains no more: its state is loaded, and its final save is done when a kill
        cut that short."""
        if finished is not None:
            self.state = TrainerState.load_from_json(finished.state_path)
            if not finished.saved:
                self.save_model()
                self.save_state()
            return {}
        metrics = self.train(resume_from_checkpoint=resume_from_checkpoint).metrics
        self.save_model()
        self.log_metrics("train", metrics)
        self.save_metrics("train", metrics)
        self.save_state()
        return metrics

    # ---- data -------------------------------------------------------------------------------------------------

    def get_train_dataloader(self) -> DataLoader:
        """Shards read their process's part themselves: their DataLoader is not split by Accelerate (which would
        have the main process read for all, or every process read everything)."""
        dataset = self.train_dataset
        if not isinstance(dataset, ShardedClipDataset):
            return super().get_train_dataloader()
        batch_size = self._train_batch_size
        dataset.configure(
            rank=self.args.process_index,
            world_size=self.args.world_size,
            batch_size=batch_size,
            drop_last=self.args.dataloader_drop_last,
        )
        loader = DataLoader(
            dataset,
            batch_size=batch_size,
            collate_fn=self._get_collator_with_removed_columns(self.data_collator, description="training"),
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers,
            multiprocessing_context=self.args.dataloader_multiprocessing_context,
            prefetch_factor=self.args.dataloader_prefetch_factor,
            drop_last=self.args.dataloader_drop_last,
            in_order=True,  # the batch order the resume skip counts on
        )
        return prepare_data_loader(
            loader,
            device=self.args.device,
            num_processes=1,
            process_index=0,
            put_on_device=True,
            dispatch_batches=False,
            non_blocking=self.args.accelerator_config.non_blocking,
        )

    def get_resumed_dataloader(self, dataloader: DataLoader, num_batches: int) -> DataLoader:
        """Shards are told how many batches of the resumed epoch to pass over: their workers read past those clips
        instead of decoding them, as Accelerate's `skip_first_batches` would (see `data/streaming.py`)."""
        dataset = getattr(dataloader, "dataset", None)
        if not isinstance(dataset, ShardedClipDataset):
            return super().get_resumed_dataloader(dataloader, num_batches)
        logger.info("Resuming the shards after %d batches of the epoch, without decoding their clips", num_batches)
        dataset.skip_batches(num_batches)
        return dataloader

    def num_examples(self, dataloader: DataLoader) -> int:
        """The whole split's clip count (a shard stream's length is this process's share)."""
        dataset = getattr(dataloader, "dataset", None)
        if isinstance(dataset, ShardedClipDataset):
            return dataset.num_clips
        return super().num_examples(dataloader)

    def get_eval_dataloader(self, eval_dataset=None) -> DataLoader:
        dataset = self.eval_dataset if eval_dataset is None else eval_dataset
        dataset = self.eval_dataset[dataset] if isinstance(dataset, str) else dataset
        self._configure_evaluation_stream(dataset)
        return super().get_eval_dataloader(eval_dataset)

    def get_test_dataloader(self, test_dataset) -> DataLoader:
        self._configure_evaluation_stream(test_dataset)
        return super().get_test_dataloader(test_dataset)

    def _configure_evaluation_stream(self, dataset) -> None:
        """Evaluation shards are read whole by the main process, which Accelerate's DataLoader hands out to the
        others (its default for iterable datasets, which drops the padding from gathered predictions)."""
        if isinstance(dataset, ShardedClipDataset):
            dataset.configure(batch_size=self.args.eval_batch_size)

    # ---- optimizer ------------------------------------------------------------------------------------------

    def create_optimizer(self, model=None):
        if self.optimizer is None:
            opt_model = self.model if model is None else model
            groups = parameter_groups(
                opt_model,
                learning_rate=self.args.learning_rate,
                head_learning_rate=self.head_learning_rate,
                weight_decay=self.args.weight_decay,
                decay=set(self.get_decay_parameter_names(opt_model)),
            )
            if self.optimizer_cls_and_kwargs is not None:
                optimizer_cls, optimizer_kwargs = self.optimizer_cls_and_kwargs
            else:
                optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            for key in ("params", "model", "optimizer_dict"):
                if key in optimizer_kwargs:
                    raise ValueError(f"optimizer {self.args.optim!r} builds its own parameter groups; use adamw/adam")
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
            for group in groups:
                logger.info(
                    "optimizer group %s: %d tensors, lr %g, weight decay %g",
                    group["name"],
                    len(group["params"]),
                    group["lr"],
                    group["weight_decay"],
                )
        return self.optimizer

    # ---- inputs -----------------------------------------------------------------------------------------------

    def _prepare_inputs(self, inputs):
        self.clip_counts.add(inputs)
        return super()._prepare_inputs(inputs)

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.train_augmentation is not None and self.train_augmentation.enabled:
            inputs = self.train_augmentation(self._prepare_inputs(inputs))
        return super().training_step(model, inputs, num_items_in_batch)

    # ---- loss -------------------------------------------------------------------------------------------------

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = weighted_classification_loss(outputs.logits, labels, self.class_weights)
        return (loss, outputs) if return_outputs else loss

    def push_to_hub(self, *args, **kwargs):
        """The Trainer's push (also called by `save_model` with `--push_to_hub`); a failure says what is safe."""
        try:
            return super().push_to_hub(*args, **kwargs)
        except Exception as error:  # whatever the Hub client raised: the run's outputs are on disk
            raise HubPushError(
                f"push_to_hub failed ({type(error).__name__}: {error}). The model is saved in {self.args.output_dir}; "
                f"upload it later with `hf upload {self.hub_model_id or '<repo id>'} {self.args.output_dir}`."
            ) from error

    def log(self, logs, start_time=None):
        if "loss" in logs:  # a training log
            logs = {**logs, **self.train_counts.metrics()}
        super().log(logs, start_time)


class SocialMAEPreTrainingTrainer(SocialMAETrainer):
    """`Trainer` for [`SocialMAEForPreTraining`]: logs the loss parts while training, and evaluates the
    reconstruction losses and the contrastive accuracy (as metrics, through `compute_metrics`).

    Evaluation masks are drawn from a generator seeded with `args.seed` at the start of every evaluation, so
    that two evaluations (e.g. before and after training) mask each clip the same way and are comparable.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compute_metrics", MetricsComputer("pretraining"))
        super().__init__(*args, **kwargs)
        self._train_parts: dict[str, list[float]] = defaultdict(list)
        self._eval_generator: torch.Generator | None = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        outputs = model(**inputs)
        if model.training:
            for name in PRETRAINING_STATS:
                value = getattr(outputs, name, None)
                if value is not None:
                    self._train_parts[name].append(float(value.detach()))
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def log(self, logs, start_time=None):
        if "loss" in logs and self._train_parts:
            logs = {**logs, **{k: sum(v) / len(v) for k, v in self._train_parts.items()}}
            self._train_parts.clear()
        super().log(logs, start_time)

    def evaluation_loop(self, *args, **kwargs):
        self._eval_generator = torch.Generator().manual_seed(self.args.seed + self.args.process_index)
        return super().evaluation_loop(*args, **kwargs)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        inputs = self._prepare_inputs(inputs)
        config = self.accelerator.unwrap_model(model).config
        batch = inputs["input_values"].shape[0]
        generator = self._eval_generator or torch.Generator().manual_seed(self.args.seed)
        noise = {
            "audio_noise": torch.rand(batch, config.num_audio_patches, generator=generator),
            "video_noise": torch.rand(batch, config.num_video_patches, generator=generator),
        }
        device = inputs["input_values"].device
        with torch.no_grad(), self.compute_loss_context_manager():
            outputs = model(**inputs, **{k: v.to(device) for k, v in noise.items()})
        loss = outputs.loss.detach().float()
        if prediction_loss_only:
            return loss, None, None
        parts = []
        for name in PRETRAINING_STATS:
            value = getattr(outputs, name, None)
            parts.append(float("nan") if value is None else float(value))
        # One row per clip (the batch's values repeated) so that gathering and dropping duplicates stay exact;
        # placeholder labels make the Trainer call compute_metrics.
        stats = torch.tensor(parts, device=device).expand(batch, -1).contiguous()
        return loss, stats, torch.zeros(batch, device=device)
