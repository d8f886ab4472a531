"""`pipeline("audio-visual-classification")`: labels (or regression targets) of a clip or of every window."""

from __future__ import annotations

from ..loading import HEAD_ARCHITECTURES, require_head
from .base import CLASSIFICATION_TASK, FEATURE_EXTRACTION_TASK, AudioVisualPipeline

__all__ = ["AudioVisualClassificationPipeline"]

_FUNCTIONS = ("softmax", "sigmoid", "none")


class AudioVisualClassificationPipeline(AudioVisualPipeline):
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
        modalities: `"audio"`, `"video"` or both (default: whatever the input has; see the processor).
        missing_audio: `"error"` (default) or `"drop"` for videos without an audio track.
        face_detector: A face detector callable for the face crop (see `SocialMAEVideoProcessor.preprocess`).
        audio_stream: Which audio track of media files to use (0-based among their audio tracks; default: the
            track flagged as default, else the first). How channels are mixed is the processor's
            `feature_extractor.audio_channel_mix` (`"downmix"` for a voice in a 5.1 centre channel).

    Returns `[{"label", "score"}]` per input; a regression model gives every target, in the model's order,
    with its predicted value as `score`. With a face-cropping processor (`face_crop` in its video processor,
    e.g. `processor=SocialMAEProcessor.from_pretrained(folder, face_crop=True)`), the frames are cropped around
    the face and each row of an input with video also has `"face_found"` (False: no face, the whole frames were
    used), as each window of a timeline does.
    """

    def _check_model(self) -> None:
        if type(self.model).__name__ not in HEAD_ARCHITECTURES:
            raise ValueError(
                f"the {CLASSIFICATION_TASK} pipeline needs a model with a classification or regression head "
                f"({' / '.join(HEAD_ARCHITECTURES)}), got {type(self.model).__name__}; use the "
                f"{FEATURE_EXTRACTION_TASK} pipeline for embeddings"
            )
        # A head class loaded from a folder saved without a head (e.g. through the folder's custom_pipelines).
        require_head(self.model.config, self.model.name_or_path or type(self.model).__name__)

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
        if timeline:
            return self._timeline(outputs, [{"scores": row} for row in rows])
        return [{**row, **self._face_found(outputs[0])} for row in rows[0]]
