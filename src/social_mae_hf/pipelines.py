"""transformers pipelines for Social-MAE / CAV-MAE, registered when `social_mae_hf` is imported.

    pipe = pipeline("audio-visual-classification", model="org/social-mae-cremad")
    pipe("interview.mp4")                                     # [{"label": ..., "score": ...}, ...]
    pipe("interview.mp4", chunk_length_s=4, stride_length_s=2)  # [{"start", "end", "scores": [...]}, ...]
    pipeline("audio-visual-feature-extraction", model=...)("clip.mp4")  # audio / video / fused embeddings

Both are `ChunkPipeline`s: one input becomes one window, or, with `chunk_length_s`, a window every
`stride_length_s` over the whole recording (decoded from seek points, so a long file costs what its windows cost);
windows of all inputs are batched together with `batch_size`.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader
from transformers import AutoModel
from transformers.pipelines import PIPELINE_REGISTRY
from transformers.pipelines.base import ChunkPipeline, no_collate_fn
from transformers.pipelines.pt_utils import PipelineChunkIterator, PipelineIterator, PipelinePackIterator

from .auto import AutoModelForAudioVisualClassification
from .errors import InvalidInputError
from .loading import (
    HEAD_ARCHITECTURES,
    check_extractor_matches,
    load_config,
    load_feature_extractor,
    load_weights,
    require_head,
)
from .pipeline_inputs import parse_input, plan_windows

__all__ = [
    "CLASSIFICATION_TASK",
    "EMBEDDING_KEYS",
    "FEATURE_EXTRACTION_TASK",
    "AudioVisualClassificationPipeline",
    "AudioVisualFeatureExtractionPipeline",
    "load_pipeline_model",
    "register_pipelines",
]

CLASSIFICATION_TASK = "audio-visual-classification"
FEATURE_EXTRACTION_TASK = "audio-visual-feature-extraction"
EMBEDDING_KEYS = ("audio_embedding", "video_embedding", "fused_embedding")
_WINDOW_KEYS = ("is_last", "start", "end")
_FUNCTIONS = ("softmax", "sigmoid", "none")


class _AudioVisualPipeline(ChunkPipeline):
    """Shared input handling: parse, cut into windows, extract features, batch windows; subclasses run the model."""

    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_tokenizer = False
    # Loaded when the model folder has one; a missing one is reported in __init__, with the fix.
    _load_feature_extractor = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._check_model()
        name = self.model.name_or_path or type(self.model).__name__
        if self.feature_extractor is None:
            if not self.model.name_or_path:
                raise ValueError(
                    f"{name} was not loaded from a folder or the Hub, so its feature extractor cannot be found: pass "
                    "`feature_extractor=` (e.g. `SocialMAEFeatureExtractor.for_model_config(model.config)`)"
                )
            self.feature_extractor = load_feature_extractor(self.model.name_or_path)
        check_extractor_matches(self.feature_extractor, self.model.config, name)

    def _check_model(self) -> None:
        raise NotImplementedError

    # -- parameters --------------------------------------------------------------------------------------------

    def _sanitize_parameters(self, chunk_length_s=None, stride_length_s=None, modalities=None, missing_audio=None):
        preprocess, postprocess = {}, {}
        if chunk_length_s is not None:
            preprocess["chunk_length_s"] = chunk_length_s
            postprocess["timeline"] = True
        if stride_length_s is not None:
            preprocess["stride_length_s"] = stride_length_s
        if modalities is not None:
            preprocess["modalities"] = modalities
        if missing_audio is not None:
            preprocess["missing_audio"] = missing_audio
        return preprocess, {}, postprocess

    # -- steps -------------------------------------------------------------------------------------------------

    def preprocess(self, inputs, chunk_length_s=None, stride_length_s=None, modalities=None, missing_audio="error"):
        item = parse_input(inputs)
        if chunk_length_s is None:
            if stride_length_s is not None:
                raise ValueError("`stride_length_s` needs `chunk_length_s` (the window length)")
            windows = [(None, None)]
        else:
            windows = plan_windows(item.duration, chunk_length_s, stride_length_s, item.name)
        for k, (start, end) in enumerate(windows):
            features = self.feature_extractor(
                **item.extractor_kwargs(),
                start_s=start,
                end_s=end,
                modalities=modalities,
                missing_audio=missing_audio,
                return_tensors="pt",
            )
            yield {**features, "is_last": k == len(windows) - 1, "start": start, "end": end}

    def _forward(self, model_inputs):
        window = {key: model_inputs.pop(key) for key in _WINDOW_KEYS}
        dtype = self.model.dtype
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model_inputs.items()}
        # The first key must be a tensor: the pipeline's unbatching reads the batch size from it.
        return {**self._run_model(tensors), **window}

    def _run_model(self, tensors: dict) -> dict:
        raise NotImplementedError

    @staticmethod
    def _timeline(outputs, rows: list[dict]) -> list[dict]:
        return [{"start": out["start"], "end": out["end"], **row} for out, row in zip(outputs, rows)]

    # -- batching ----------------------------------------------------------------------------------------------

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        """ChunkPipeline's iterator with a collate that stacks our windows (transformers' pads by a feature
        extractor `padding_value`, which fixed-size clips do not have)."""
        dataset = PipelineChunkIterator(inputs, self.preprocess, preprocess_params)
        collate = no_collate_fn if batch_size == 1 else _stack_windows
        # Windows come from a generator: one worker, as ChunkPipeline does.
        loader = DataLoader(dataset, num_workers=min(num_workers, 1), batch_size=batch_size, collate_fn=collate)
        model_iterator = PipelinePackIterator(loader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)


def _stack_windows(items: list[dict]) -> dict:
    keys = set(items[0])
    for item in items[1:]:
        if set(item) != keys:
            raise InvalidInputError(
                f"cannot batch inputs with different modalities ({sorted(keys - set(_WINDOW_KEYS))} vs "
                f"{sorted(set(item) - set(_WINDOW_KEYS))}): use batch_size=1, or pass `modalities=`"
            )
    return {
        key: torch.cat([item[key] for item in items]) if key not in _WINDOW_KEYS else [item[key] for item in items]
        for key in items[0]
    }


# ------------------------------------------------------------------------------------------------------------------


class AudioVisualClassificationPipeline(_AudioVisualPipeline):
    """Labels of a clip (or of every window of a long recording) from a Social-MAE / CAV-MAE classification or
    regression model.

    Inputs: a media file (path or bytes: a video, whose audio track is used too, or an audio file), a dict
    `{"video": frames or media, "video_fps": fps, "audio": waveform or media, "sampling_rate": Hz}`, or a list.

    Call parameters:
        top_k: Labels to return, best first (default 5, at most the number of labels). Classification only.
        function_to_apply: `"softmax"` (default), `"sigmoid"` (default for multi-label models) or `"none"`
            (raw logits; the default, and the only choice, for regression).
        chunk_length_s: Cut the recording into windows of this many seconds and return a timeline
            `[{"start", "end", "scores": [...]}]`; the last window ends at the end of the recording.
        stride_length_s: Seconds between window starts (default `chunk_length_s`: back to back; smaller
            values overlap). Unlike the speech-recognition pipeline's, it is the hop, not an overlap.
        modalities: `"audio"`, `"video"` or both (default: whatever the input has; see the feature extractor).
        missing_audio: `"error"` (default) or `"drop"` for videos without an audio track.

    Returns `[{"label", "score"}]` per input; a regression model gives every target, in the model's order,
    with its predicted value as `score`.
    """

    def _check_model(self) -> None:
        if type(self.model).__name__ not in HEAD_ARCHITECTURES:
            raise ValueError(
                f"the {CLASSIFICATION_TASK} pipeline needs a model with a classification or regression head "
                f"({' / '.join(HEAD_ARCHITECTURES)}), got {type(self.model).__name__}; use the "
                f"{FEATURE_EXTRACTION_TASK} pipeline for embeddings"
            )

    @property
    def is_regression(self) -> bool:
        config = self.model.config
        return type(self.model).__name__ == "SocialMAEForRegression" or config.problem_type == "regression"

    def _sanitize_parameters(self, top_k=None, function_to_apply=None, **kwargs):
        preprocess, forward, postprocess = super()._sanitize_parameters(**kwargs)
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
                raise ValueError(f"`top_k` must be a positive integer, got {top_k!r}")
            if self.is_regression:
                raise ValueError("`top_k` does not apply to a regression model: every target is returned")
            postprocess["top_k"] = top_k
        if function_to_apply is not None:
            if function_to_apply not in _FUNCTIONS:
                raise ValueError(f"`function_to_apply` must be one of {_FUNCTIONS}, got {function_to_apply!r}")
            if self.is_regression and function_to_apply != "none":
                raise ValueError("a regression model's outputs are values, not logits: use function_to_apply='none'")
            postprocess["function_to_apply"] = function_to_apply
        return preprocess, forward, postprocess

    def _run_model(self, tensors: dict) -> dict:
        return {"logits": self.model(**tensors).logits}

    def postprocess(self, outputs, top_k=5, function_to_apply=None, timeline=False):
        config = self.model.config
        if function_to_apply is None:
            if self.is_regression:
                function_to_apply = "none"
            elif config.problem_type == "multi_label_classification":
                function_to_apply = "sigmoid"
            else:
                function_to_apply = "softmax"
        rows = []
        for out in outputs:
            logits = out["logits"][0].float()
            if function_to_apply == "softmax":
                logits = logits.softmax(-1)
            elif function_to_apply == "sigmoid":
                logits = logits.sigmoid()
            if self.is_regression:
                order = range(logits.shape[0])
            else:
                order = logits.topk(min(top_k, logits.shape[0])).indices.tolist()
            rows.append([{"label": config.id2label[i], "score": logits[i].item()} for i in order])
        return self._timeline(outputs, [{"scores": row} for row in rows]) if timeline else rows[0]


class AudioVisualFeatureExtractionPipeline(_AudioVisualPipeline):
    """Pooled embeddings of a clip (or of every window, with `chunk_length_s`) for retrieval and probing.

    Returns `{"audio_embedding", "video_embedding", "fused_embedding"}` per input (fused only when both modalities
    are there): the audio and video ones are the modality-specific path (CAV-MAE's retrieval features, see
    `social_mae_hf.retrieval`), the fused one the joint encoder output, mean-pooled. Lists of floats, or tensors
    with `return_tensors=True`. Works with any Social-MAE / CAV-MAE model (its encoder is used).

    Call parameters: `return_tensors`, and `chunk_length_s`, `stride_length_s`, `modalities`, `missing_audio` as
    in [`AudioVisualClassificationPipeline`].
    """

    def _check_model(self) -> None:
        if not hasattr(self._encoder, "get_audio_features"):
            raise ValueError(
                f"the {FEATURE_EXTRACTION_TASK} pipeline needs a Social-MAE / CAV-MAE model, got "
                f"{type(self.model).__name__}"
            )

    @property
    def _encoder(self):
        return getattr(self.model, "social_mae", self.model)

    def _sanitize_parameters(self, return_tensors=None, **kwargs):
        preprocess, forward, postprocess = super()._sanitize_parameters(**kwargs)
        if return_tensors is not None:
            postprocess["return_tensors"] = bool(return_tensors)
        return preprocess, forward, postprocess

    def _run_model(self, tensors: dict) -> dict:
        encoder = self._encoder
        audio, video = tensors.get("input_values"), tensors.get("pixel_values")
        out = {}
        if audio is not None:
            out["audio_embedding"] = encoder.get_audio_features(audio)
        if video is not None:
            out["video_embedding"] = encoder.get_video_features(video)
        if audio is not None and video is not None:
            out["fused_embedding"] = encoder(input_values=audio, pixel_values=video).pooler_output
        return out

    def postprocess(self, outputs, return_tensors=False, timeline=False):
        rows = [
            {key: out[key][0] if return_tensors else out[key][0].tolist() for key in EMBEDDING_KEYS if key in out}
            for out in outputs
        ]
        return self._timeline(outputs, rows) if timeline else rows[0]


# ------------------------------------------------------------------------------------------------------------------
# What `pipeline(task, model="<name>")` loads


class _HeadModelForPipeline(AutoModelForAudioVisualClassification):
    """A saved classification / regression model; a saved model without a trained head is refused, naming it."""

    @classmethod
    def from_pretrained(cls, name, *args, **kwargs):
        require_head(load_config(name, **kwargs), name)
        return load_weights(super().from_pretrained, name, *args, **kwargs)


class _EncoderForPipeline(AutoModel):
    """The encoder of any saved Social-MAE / CAV-MAE model."""

    @classmethod
    def from_pretrained(cls, name, *args, **kwargs):
        load_config(name, **kwargs)
        return load_weights(super().from_pretrained, name, *args, **kwargs)


def load_pipeline_model(task: str, name, **kwargs):
    """The model `pipeline(task, model=name)` would load, with our errors raised as they are (the pipeline wraps
    loading errors in a traceback dump): for command lines, then `pipeline(task, model=<this model>)`."""
    loaders = {CLASSIFICATION_TASK: _HeadModelForPipeline, FEATURE_EXTRACTION_TASK: _EncoderForPipeline}
    if task not in loaders:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(loaders)}")
    return loaders[task].from_pretrained(name, **kwargs)


def register_pipelines() -> None:
    """Add both tasks to transformers' pipeline registry (idempotent)."""
    tasks = (
        (CLASSIFICATION_TASK, AudioVisualClassificationPipeline, _HeadModelForPipeline),
        (FEATURE_EXTRACTION_TASK, AudioVisualFeatureExtractionPipeline, _EncoderForPipeline),
    )
    for task, pipeline_class, model_class in tasks:
        if PIPELINE_REGISTRY.supported_tasks.get(task, {}).get("impl") is not pipeline_class:
            PIPELINE_REGISTRY.register_pipeline(
                task, pipeline_class=pipeline_class, pt_model=model_class, type="multimodal"
            )
