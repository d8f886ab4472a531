"""A torch `Dataset` that decodes each clip on the fly with the model's processor (in DataLoader workers).

No tensors are precomputed: each `__getitem__` opens the clip's media, picks frames (randomly when
training, as the originals do) and computes the fbank. A clip that cannot be decoded either aborts the run
(naming the clip) or is handed to the collator as a [`DecodeFailure`], which drops it from its batch and
reports it, so that it is skipped and counted; it is never zero-filled. With a face-cropping processor, each item
also says whether its clip's face was found (`face_found`), which the collator counts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import av
import torch

from ...errors import InvalidInputError, MediaDecodeError
from ...media import describe_source
from .manifest import ClipRecord
from .records import DatasetMedia
from .targets import TargetEncoder

__all__ = [
    "CLIP_SOURCE_KEY",
    "DECODE_ERRORS",
    "DECODE_ERROR_POLICIES",
    "MODALITY_CHOICES",
    "ClipDataset",
    "ClipDecodeError",
    "DecodeFailure",
    "decode_clip",
    "decode_failure",
]

logger = logging.getLogger(__name__)

DECODE_ERROR_POLICIES = ("abort", "skip")
# --modality value -> processor modalities.
MODALITY_CHOICES = {"audiovisual": ("audio", "video"), "audio": ("audio",), "video": ("video",)}
# What a broken file can raise while being decoded (PyAV's errors are not all OSErrors).
DECODE_ERRORS = (InvalidInputError, OSError, av.error.FFmpegError, EOFError)


class ClipDecodeError(MediaDecodeError):
    """A clip of the dataset could not be decoded; the message names its manifest row and path."""


@dataclass(frozen=True)
class DecodeFailure:
    """Stands in for a clip that failed to decode under the `skip` policy; the collator drops it."""

    source: str
    reason: str


def _media_name(value) -> str:
    return str(value) if isinstance(value, DatasetMedia) else describe_source(value)


def check_decoding_options(modality: str, on_decode_error: str) -> tuple[str, ...]:
    """The processor's `modalities` for a `--modality` value; a value neither takes is an error."""
    if modality not in MODALITY_CHOICES:
        raise ValueError(f"modality must be one of {tuple(MODALITY_CHOICES)}, got {modality!r}")
    if on_decode_error not in DECODE_ERROR_POLICIES:
        raise ValueError(f"on_decode_error must be one of {DECODE_ERROR_POLICIES}, got {on_decode_error!r}")
    return MODALITY_CHOICES[modality]


class ClipDataset(torch.utils.data.Dataset):
    """Clips decoded lazily into model inputs plus their encoded target (`labels`).

    Args:
        records: The split's [`ClipRecord`]s.
        processor: A [`SocialMAEProcessor`] sized to the model.
        targets: Encodes each record's target; `task="pretraining"` gives items without `labels`.
        modality: `"audiovisual"`, `"audio"` or `"video"`: which inputs each item has.
        training: Random frame choice (window start / slot) instead of the deterministic evaluation choice.
        on_decode_error: `"abort"` raises [`ClipDecodeError`]; `"skip"` returns a [`DecodeFailure`].
    """

    def __init__(
        self,
        records: Sequence[ClipRecord],
        processor,
        targets: TargetEncoder,
        *,
        modality: str = "audiovisual",
        training: bool = False,
        on_decode_error: str = "abort",
    ):
        self.modalities = check_decoding_options(modality, on_decode_error)
        self.records = list(records)
        self.processor = processor
        self.targets = targets
        self.modality = modality
        self.training = training
        self.on_decode_error = on_decode_error
        if self.records:
            self._check_columns(self.records[0])

    def _check_columns(self, record: ClipRecord) -> None:
        if "video" in self.modalities and record.video is None:
            raise ValueError(f"modality {self.modality!r} needs a video column; {record.source} has no video path")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict | DecodeFailure:
        return decode_clip(
            self.records[index],
            self.processor,
            self.targets,
            modalities=self.modalities,
            training=self.training,
            on_decode_error=self.on_decode_error,
        )


def decode_failure(record: ClipRecord, error: Exception, on_decode_error: str) -> DecodeFailure:
    """Under `"abort"`, raise [`ClipDecodeError`] naming the clip; under `"skip"`, log and return a
    [`DecodeFailure`] for the collator."""
    names = ", ".join(_media_name(v) for v in (record.video, record.audio) if v is not None)
    message = f"{record.source} ({names}): {type(error).__name__}: {error}"
    if on_decode_error == "abort":
        raise ClipDecodeError(
            f"cannot decode {message}. Fix or remove the clip, or pass --on_decode_error skip to skip "
            "undecodable clips (they are counted and reported)."
        ) from error
    logger.warning("Skipping a clip that failed to decode: %s", message)
    return DecodeFailure(f"{record.source} ({names})", f"{type(error).__name__}: {error}")


# Item key naming the clip (its manifest row or shard key), set when a face crop reports on it.
CLIP_SOURCE_KEY = "clip_source"


def decode_clip(
    record: ClipRecord,
    processor,
    targets: TargetEncoder,
    *,
    modalities: Sequence[str] = ("audio", "video"),
    training: bool = False,
    on_decode_error: str = "abort",
    generator: torch.Generator | None = None,
) -> dict | DecodeFailure:
    """One clip's model inputs (`modalities`) and encoded target (`labels`), or its [`DecodeFailure`].

    `generator` draws the training frame choice (default: torch's global generator)."""
    video = record.video.load() if isinstance(record.video, DatasetMedia) else record.video
    audio = record.audio.load() if isinstance(record.audio, DatasetMedia) else record.audio
    wants_video = "video" in modalities
    crops = wants_video and processor.video_processor.face_crop is not None
    try:
        features = processor(
            videos=video if (wants_video or audio is None) else None,
            audio=audio,
            training=training,
            modalities=tuple(modalities),
            generator=generator,
            return_face_crop=crops,
        )
    except DECODE_ERRORS as error:
        return decode_failure(record, error, on_decode_error)
    item = {name: value[0] for name, value in features.items()}
    if crops:
        item[CLIP_SOURCE_KEY] = record.source  # for the report of clips where the crop found no face
    label = targets.encode(record)
    if label is not None:
        item["labels"] = label
    return item
