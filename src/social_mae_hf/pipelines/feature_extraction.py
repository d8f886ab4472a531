"""`pipeline("audio-visual-feature-extraction")`: audio, video and fused embeddings of a clip or of every window."""

from __future__ import annotations

from .base import FEATURE_EXTRACTION_TASK, AudioVisualPipeline

__all__ = ["EMBEDDING_KEYS", "AudioVisualFeatureExtractionPipeline"]

EMBEDDING_KEYS = ("audio_embedding", "video_embedding", "fused_embedding")


class AudioVisualFeatureExtractionPipeline(AudioVisualPipeline):
    """Pooled embeddings of a clip (or of every window, with `chunk_length_s`) for retrieval and probing.

    Returns `{"audio_embedding", "video_embedding", "fused_embedding"}` per input (fused only when both modalities
    are there): the audio and video ones are the modality-specific path (CAV-MAE's retrieval features, see
    `social_mae_hf.retrieval`), the fused one the joint encoder output, mean-pooled. Lists of floats, or tensors
    with `return_tensors=True`. Works with any Social-MAE / CAV-MAE model (its encoder is used).

    Call parameters: `return_tensors`, and `chunk_length_s`, `stride_length_s`, `modalities`, `missing_audio`,
    `face_detector`, `audio_stream` as in [`AudioVisualClassificationPipeline`]. With a face-cropping processor,
    each result (each window) also has `"face_found"`, a bool.
    """

    def _check_model(self) -> None:
        if not hasattr(self._encoder, "get_audio_features"):
            raise ValueError(
                f"the {FEATURE_EXTRACTION_TASK} pipeline needs a Social-MAE / CAV-MAE model, got "
                f"{type(self.model).__name__}"
            )

    @property
    def _encoder(self):
        return self.model.base_model  # a head model's SocialMAEModel, or the model itself

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
            out["audio_embedding"] = encoder.get_audio_features(audio).pooler_output
        if video is not None:
            out["video_embedding"] = encoder.get_video_features(video).pooler_output
        if audio is not None and video is not None:
            out["fused_embedding"] = encoder(input_values=audio, pixel_values=video).pooler_output
        return out

    def postprocess(self, outputs, return_tensors=False, timeline=False):
        rows = []
        for out in outputs:
            row = {key: out[key][0] if return_tensors else out[key][0].tolist() for key in EMBEDDING_KEYS if key in out}
            rows.append({**row, **self._face_found(out)})
        return self._timeline(outputs, rows) if timeline else rows[0]
