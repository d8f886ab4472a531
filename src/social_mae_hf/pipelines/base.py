"""What both audio-visual pipelines share: parse an input, cut it into windows, prepare them (the model's processor),
batch windows.

Both are `ChunkPipeline`s: one input becomes one window, or, with `chunk_length_s`, a window every
`stride_length_s` over the whole recording (decoded from seek points, so a long file costs what its windows cost);
windows of all inputs are batched together with `batch_size`.

With a face-cropping processor (its video processor's `face_crop`), each window's frames are cropped around the
face, and every result (each window of a timeline) says whether a face was found (`face_found`); only the model
inputs reach the model.
"""

from __future__ import annotations

import contextlib
import logging

import torch
from torch.utils.data import DataLoader
from transformers.pipelines.base import ChunkPipeline, no_collate_fn
from transformers.pipelines.pt_utils import PipelineChunkIterator, PipelineIterator, PipelinePackIterator

from ..errors import InvalidInputError
from ..loading import check_processor_matches, load_processor
from ..video_processing_social_mae import FACE_CROP_OUTPUTS
from .inputs import parse_input, plan_windows

__all__ = ["CLASSIFICATION_TASK", "FEATURE_EXTRACTION_TASK", "AudioVisualPipeline"]

CLASSIFICATION_TASK = "audio-visual-classification"
FEATURE_EXTRACTION_TASK = "audio-visual-feature-extraction"
logger = logging.getLogger(__name__)

_WINDOW_KEYS = ("is_last", "start", "end")


class AudioVisualPipeline(ChunkPipeline):
    """Shared input handling: parse, cut into windows, prepare, batch windows; subclasses run the model."""

    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False
    # Loaded in __init__ (from the model's folder unless passed as `processor=`), so that a folder without one
    # gets our error, with the fix.
    _load_processor = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._check_model()
        name = self.model.name_or_path or type(self.model).__name__
        if self.processor is None:
            if self.feature_extractor is not None:
                raise ValueError(
                    f"{type(self).__name__} takes a SocialMAEProcessor (audio and video together) as `processor=`, "
                    "not `feature_extractor=`"
                )
            if not self.model.name_or_path:
                raise ValueError(
                    f"{name} was not loaded from a folder or the Hub, so its processor cannot be found: pass "
                    "`processor=` (e.g. `SocialMAEProcessor.for_model_config(model.config)`)"
                )
            self.processor = load_processor(self.model.name_or_path)
        check_processor_matches(self.processor, self.model.config, name)

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            raise InvalidInputError(
                f"{type(self).__name__}: the inputs are an empty list; give a file or a list of files"
            )
        return super().__call__(inputs, *args, **kwargs)

    def _check_model(self) -> None:
        raise NotImplementedError

    # -- parameters --------------------------------------------------------------------------------------------

    def _sanitize_parameters(
        self,
        chunk_length_s=None,
        stride_length_s=None,
        modalities=None,
        missing_audio=None,
        face_detector=None,
        audio_stream=None,
    ):
        given = dict(
            chunk_length_s=chunk_length_s,
            stride_length_s=stride_length_s,
            modalities=modalities,
            missing_audio=missing_audio,
            face_detector=face_detector,
            audio_stream=audio_stream,
        )
        preprocess = {key: value for key, value in given.items() if value is not None}
        return preprocess, {}, {"timeline": True} if chunk_length_s is not None else {}

    @property
    def crops_faces(self) -> bool:
        """Whether the processor crops frames around the face (then results carry `face_found`)."""
        return self.processor.video_processor.face_crop is not None

    # -- steps -------------------------------------------------------------------------------------------------

    def preprocess(
        self,
        inputs,
        chunk_length_s=None,
        stride_length_s=None,
        modalities=None,
        missing_audio="error",
        face_detector=None,
        audio_stream=None,
    ):
        crop = {"return_face_crop": True, "face_detector": face_detector} if self.crops_faces else {}
        if face_detector is not None and not crop:
            raise ValueError("face_detector needs a face-cropping processor (its video processor's face_crop)")
        # Each media file is opened here once, for its length and every window.
        with contextlib.closing(parse_input(inputs, audio_stream)) as item:
            yield from self._windows(item, chunk_length_s, stride_length_s, modalities, missing_audio, crop)

    def _windows(self, item, chunk_length_s, stride_length_s, modalities, missing_audio, crop):
        if chunk_length_s is None:
            if stride_length_s is not None:
                raise ValueError("`stride_length_s` needs `chunk_length_s` (the window length)")
            windows = [(None, None)]
        else:
            windows = plan_windows(item.duration(modalities), chunk_length_s, stride_length_s, item.name)
            if (uncovered := item.uncovered(modalities)) is not None:
                logger.warning(uncovered)
        for k, (start, end) in enumerate(windows):
            features = self.processor(
                **item.processor_kwargs(),
                start_s=start,
                end_s=end,
                modalities=modalities,
                missing_audio=missing_audio,
                return_tensors="pt",
                **crop,
            )
            yield {**features, "is_last": k == len(windows) - 1, "start": start, "end": end}

    def _forward(self, model_inputs):
        carried = {key: model_inputs.pop(key) for key in (*_WINDOW_KEYS, *FACE_CROP_OUTPUTS) if key in model_inputs}
        dtype = self.model.dtype
        tensors = {k: v.to(dtype) if v.is_floating_point() else v for k, v in model_inputs.items()}
        # The first key must be a tensor: the pipeline's unbatching reads the batch size from it.
        return {**self._run_model(tensors), **carried}

    def _run_model(self, tensors: dict) -> dict:
        raise NotImplementedError

    @staticmethod
    def _face_found(out) -> dict:
        """`{"face_found": bool}` for a window whose frames went through the face crop; else nothing."""
        return {"face_found": bool(out["face_found"][0])} if "face_found" in out else {}

    def _timeline(self, outputs, rows: list[dict]) -> list[dict]:
        return [
            {"start": out["start"], "end": out["end"], **row, **self._face_found(out)}
            for out, row in zip(outputs, rows)
        ]

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
