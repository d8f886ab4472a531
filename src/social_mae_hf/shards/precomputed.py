"""Features computed when shards are written, so that training reads them instead of decoding the media.

- `KEY.input_values.npy`: the audio's `input_values` `(max_length, num_mel_bins)` float32, as the processor gives
  them. Audio preprocessing has no randomness (SpecAugment and mixup act on batches), so these are exact.
- `KEY.frames.npz`: decoded frames (uint8 RGB, upright, at their own size) of every frame the frame choice can
  pick, with their frame numbers and the stream's frame count and rate. At training they go through the
  processor as decoded frames, with the frame choice mapped onto them, so that the resize and normalisation are
  the processor's own and the inputs are those of decoding the media (the tests check it).

  CAV-MAE's spread sampling picks one of 10 fixed slots: all are stored, so training picks among the same
  frames as from the media. Social-MAE's window starts at any frame in training, which would mean storing every
  frame; instead its start moves in steps of `int(fps // sample_fps)` frames (12 at 25 fps, 0.48 s) on a grid
  through the evaluation window's start, and the frames of those windows are stored. Evaluation is exact; a
  training window starts at one of about `clip seconds x 2` places instead of `clip frames` (8 s at 25 fps: 9
  instead of 101). A 224 x 224 clip of 8 s stores 16 frames (2.4 MB, against about 130 kB of H.264) and the fbank
  0.5 MB: precompute where decoding is the bottleneck and disk is not (`benchmarks/README.md` has figures).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from transformers.video_utils import VideoMetadata

from ..errors import ManifestError
from ..frame_sampling import cav_mae_frame_index, social_mae_frame_indices
from ..media import MediaFile
from ..video_processing_social_mae import check_frame_size

__all__ = [
    "FBANK_MEMBER",
    "FRAMES_MEMBER",
    "PRECOMPUTE_CHOICES",
    "StoredFrames",
    "check_feature_settings",
    "compute_features",
    "feature_settings",
    "precomputed_inputs",
]

# --precompute value -> features stored in each sample.
PRECOMPUTE_CHOICES = {"none": (), "fbank": ("input_values",), "frames": ("frames",), "all": ("input_values", "frames")}
FBANK_MEMBER = "input_values.npy"
FRAMES_MEMBER = "frames.npz"
# Video processor settings that decide which frames can be picked (the rest act on the picked frames).
FRAME_CHOICE_SETTINGS = ("num_frames", "frame_sampling", "fps", "window_seconds", "spread_slots", "spread_seconds")
# Feature extractor settings that say how it is saved or loaded, not what it computes: left out of the comparison
# (a saved and reloaded processor gains an `auto_map`). Any other setting, a new one included, is compared.
NOT_FEATURE_SETTINGS = (
    "auto_map",
    "feature_extractor_type",
    "processor_class",
    "padding_side",
    "return_attention_mask",
)


def feature_settings(processor, features) -> dict:
    """The processor settings that `features` depend on, as stored in the shard index."""
    settings = {}
    if "input_values" in features:
        extractor = json.loads(processor.feature_extractor.to_json_string())
        settings["feature_extractor"] = {k: v for k, v in extractor.items() if k not in NOT_FEATURE_SETTINGS}
    if "frames" in features:
        video = json.loads(processor.video_processor.to_json_string())
        settings["frame_choice"] = {name: video[name] for name in FRAME_CHOICE_SETTINGS}
    return settings


def check_feature_settings(processor, stored: dict, features, where: str) -> None:
    """Raise when `processor` would not compute the stored `features` as they are (naming what differs)."""
    current = feature_settings(processor, features)
    for part, settings in current.items():
        saved = {k: v for k, v in stored.get(part, {}).items() if k not in NOT_FEATURE_SETTINGS}
        differ = sorted(name for name in set(settings) | set(saved) if settings.get(name) != saved.get(name))
        if differ:
            listed = ", ".join(
                f"{name}: {saved.get(name)!r} in the shards, {settings.get(name)!r} now" for name in differ
            )
            raise ManifestError(
                f"{where}: its precomputed {part.replace('_', ' ')} settings differ from this model's processor "
                f"({listed}). Write the shards again with this processor, or pass --use_precomputed_features false "
                "to decode their media instead."
            )


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def window_starts(video_processor, num_frames: int, fps: float) -> list[int]:
    """Social-MAE training window starts on the grid of `int(fps // sample_fps)` frames through the evaluation
    start (`frame_sampling.social_mae_window_start`'s `last // 2`); `[0]` for a clip shorter than the window."""
    span = video_processor.window_seconds * fps
    if num_frames < span:
        return [0]
    last = int(num_frames - span)
    step = max(1, int(fps // video_processor.fps))
    return list(range((last // 2) % step, last + 1, step))


def _window_indices(video_processor, num_frames: int, fps: float, start: int) -> list[int]:
    return social_mae_frame_indices(
        num_frames,
        fps,
        start,
        num_frames=video_processor.num_frames,
        sample_fps=video_processor.fps,
        window_seconds=video_processor.window_seconds,
    )


def candidate_frames(video_processor, num_frames: int, fps: float) -> list[int]:
    """Every frame number the (grid-restricted) frame choice can pick, in training or evaluation."""
    if video_processor.frame_sampling == "window":
        starts = window_starts(video_processor, num_frames, fps)
        picks = {k for start in starts for k in _window_indices(video_processor, num_frames, fps, start)}
    else:  # each frame is one of the spread slots (as `SocialMAEVideoProcessor.sample_frames` picks them)
        slots, seconds = video_processor.spread_slots, video_processor.spread_seconds
        picks = {cav_mae_frame_index(num_frames, fps, s, num_slots=slots, max_seconds=seconds) for s in range(slots)}
    return sorted(picks)


@dataclass
class StoredFrames:
    """Frames stored for a clip: `frames` uint8 `(n, H, W, 3)` RGB are frames `indices` of a stream of
    `num_frames` frames at `fps`."""

    frames: np.ndarray
    indices: np.ndarray
    num_frames: int
    fps: Fraction

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            frames=self.frames,
            indices=np.asarray(self.indices, dtype=np.int64),
            num_frames=np.int64(self.num_frames),
            fps=np.asarray([self.fps.numerator, self.fps.denominator], dtype=np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredFrames:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            numerator, denominator = (int(v) for v in stored["fps"])
            return cls(stored["frames"], stored["indices"], int(stored["num_frames"]), Fraction(numerator, denominator))

    def choose_rows(self, video_processor, *, training: bool, generator: torch.Generator | None) -> np.ndarray:
        """Rows of `frames` the processor's frame choice picks (Social-MAE training windows on the grid)."""
        fps = float(self.fps)
        if video_processor.frame_sampling == "window" and training:
            starts = window_starts(video_processor, self.num_frames, fps)
            start = starts[int(torch.randint(len(starts), (1,), generator=generator))]
            picked = np.asarray(_window_indices(video_processor, self.num_frames, fps, start))
        else:
            metadata = VideoMetadata(total_num_frames=self.num_frames, fps=fps)
            picked = video_processor.sample_frames(metadata, training=training, generator=generator)
        rows = np.searchsorted(self.indices, picked)
        if np.any(rows >= len(self.indices)) or np.any(self.indices[np.minimum(rows, len(self.indices) - 1)] != picked):
            raise ManifestError(f"frames {sorted(set(picked.tolist()) - set(self.indices.tolist()))} were not stored")
        return rows


def read_stored_frames(video, video_processor, name: str) -> StoredFrames:
    """Decode the frames a clip's frame choice can pick (`video`: a path or bytes)."""
    with MediaFile(video, name=name) as media:
        info = media.video_info()
        check_frame_size(info.width, info.height, name)
        if info.num_frames <= 0:
            raise ManifestError(f"{name}: the video stream has no frames")
        indices = candidate_frames(video_processor, info.num_frames, float(info.fps))
        frames = media.read_frames_at([Fraction(k) / info.fps for k in indices], channel_order="rgb")
    return StoredFrames(frames, np.asarray(indices, dtype=np.int64), info.num_frames, Fraction(info.fps))


def compute_features(processor, video, audio, features, name: str) -> dict[str, bytes]:
    """Members holding `features` of one clip (`video` / `audio`: paths or bytes, as in a `ShardClip`)."""
    members = {}
    if "input_values" in features:
        inputs = processor(videos=video if audio is None else None, audio=audio, modalities="audio")
        members[FBANK_MEMBER] = _npy(inputs["input_values"][0].numpy())
    if "frames" in features:
        if video is None:
            raise ManifestError(f"{name}: no video to store frames of")
        members[FRAMES_MEMBER] = read_stored_frames(video, processor.video_processor, name).to_bytes()
    return members


def precomputed_inputs(
    processor, members: dict[str, bytes], modalities, *, training: bool, generator: torch.Generator | None
) -> dict[str, torch.Tensor]:
    """Model inputs of one sample from its stored features, for the `modalities` they hold."""
    inputs = {}
    if "audio" in modalities and FBANK_MEMBER in members:
        array = np.load(io.BytesIO(members[FBANK_MEMBER]), allow_pickle=False)
        extractor = processor.feature_extractor
        expected = (extractor.max_length, extractor.num_mel_bins)
        if array.dtype != np.float32 or array.shape != expected:
            raise ManifestError(
                f"{FBANK_MEMBER}: {array.dtype} {array.shape}, the processor's features are float32 {expected}"
            )
        if not np.isfinite(array).all():
            raise ManifestError(f"{FBANK_MEMBER}: holds NaN or infinite values")
        inputs["input_values"] = torch.from_numpy(np.ascontiguousarray(array))
    if "video" in modalities and FRAMES_MEMBER in members:
        stored = StoredFrames.from_bytes(members[FRAMES_MEMBER])
        frames = stored.frames
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) != len(stored.indices):
            raise ManifestError(
                f"{FRAMES_MEMBER}: frames {frames.dtype} {frames.shape} for {len(stored.indices)} frame numbers; "
                "stored frames are uint8 (frames, height, width, 3)"
            )
        rows = stored.choose_rows(processor.video_processor, training=training, generator=generator)
        # Frames are stored uncropped: a face-cropping processor crops the chosen ones, as it does decoded clips.
        video = processor(
            videos=stored.frames,
            video_fps=float(stored.fps),
            sample_indices_fn=lambda metadata, num_frames: rows,
            modalities="video",
            return_face_crop=processor.video_processor.face_crop is not None,
        )
        inputs.update({name: value[0] for name, value in video.items()})
    return inputs
