"""Feature extractor for Social-MAE and CAV-MAE: media files or raw arrays -> model inputs.

Reproduces the originals' preprocessing (read from their data loaders and extraction scripts):

Audio (both): 16 kHz waveform, first channel (see `audio_channel_mix`), minus its mean, Kaldi fbank
(`fbank.py`, identical to torchaudio's), zero-padded or cropped to `max_length` frames, then
`(fbank - mean) / std` -- divided by std, NOT by 2 * std as in transformers' AST extractor; the
padding frames are normalised too (they become -mean / std), as in the originals.

Video, Social-MAE: frames decoded by OpenCV, so BGR; 8 frames, window of 4 s at 2 fps (see
`frame_sampling.py`); each frame ToTensor (uint8 -> float / 255) THEN resized to 224 x 224 ignoring
the aspect ratio with `T.Resize((224, 224), interpolation=BICUBIC, antialias=None)` on the tensor,
which in torchvision means bicubic WITHOUT antialiasing (None -> False for tensors), and no clamping
(values may leave [0, 1]); then ImageNet mean/std applied to the B, G, R channels as they are.

Video, CAV-MAE: one RGB frame. Its extraction script resized the shorter side to 224 with
`T.Resize(224)` -- PIL, BILINEAR (the default), antialiased -- centre-cropped 224, and saved a JPEG;
the loader's own `T.Resize(224, BICUBIC)` then leaves the 224 x 224 image untouched. So the effective
resize is PIL bilinear. We do not reproduce the JPEG round trip (quality 75 artefacts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any, ClassVar

import av
import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from transformers.feature_extraction_utils import BatchFeature, FeatureExtractionMixin
from transformers.video_utils import VideoMetadata

from .errors import InvalidInputError, MediaDecodeError, MissingModalityError
from .fbank import fbank_num_samples, log_mel_fbank
from .frame_sampling import (
    cav_mae_frame_index,
    cav_mae_slot,
    social_mae_frame_indices,
    social_mae_window_start,
)
from .media import MediaFile, describe_source, is_media_source, parse_time_range

__all__ = ["SocialMAEFeatureExtractor"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MIN_FRAME_SIDE = 16  # a frame smaller than one 16 x 16 model patch is a mistake, not a video
MAX_AUDIO_CHANNELS = 16

_FRAME_SAMPLINGS = ("window", "spread")
_RESIZE_MODES = ("stretch", "shorter_side_center_crop")
_RESAMPLES = {"bicubic": PIL.Image.Resampling.BICUBIC, "bilinear": PIL.Image.Resampling.BILINEAR}
_MODALITIES = ("audio", "video")

# Every setting, spelled out, so that a preset does not move when a constructor default does.
_SOCIAL_MAE_PRESET = dict(
    sampling_rate=16000,
    num_mel_bins=128,
    max_length=1024,
    do_normalize_audio=True,
    audio_mean=-6.2943,
    audio_std=12.26344,
    audio_channel_mix="first",
    num_frames=8,
    frame_sampling="window",
    sample_fps=2.0,
    window_seconds=4.0,
    spread_slots=10,
    spread_seconds=10.0,
    image_size=224,
    resize_mode="stretch",
    resample="bicubic",
    antialias=False,
    channel_order="bgr",
    do_normalize_video=True,
    image_mean=IMAGENET_MEAN,
    image_std=IMAGENET_STD,
)
# CAV-MAE differs in its audio statistics and in everything about the frames.
_CAV_MAE_PRESET = {
    **_SOCIAL_MAE_PRESET,
    "audio_mean": -5.081,
    "audio_std": 4.4849,
    "num_frames": 1,
    "frame_sampling": "spread",
    "resize_mode": "shorter_side_center_crop",
    "resample": "bilinear",
    "antialias": True,
    "channel_order": "rgb",
}

# ----------------------------------------------------------------------------------------------
# Input kinds


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, torch.Tensor))


def _is_frame(x) -> bool:
    return isinstance(x, PIL.Image.Image) or (_is_array(x) and x.ndim == 3)


def _is_single_video(x) -> bool:
    if is_media_source(x) or (_is_array(x) and x.ndim == 4):
        return True
    return isinstance(x, (list, tuple)) and len(x) > 0 and all(_is_frame(f) for f in x)


def _is_single_audio(x) -> bool:
    return is_media_source(x) or (_is_array(x) and x.ndim in (1, 2))


def _as_batch(x, is_single: Callable, what: str) -> list | None:
    if x is None:
        return None
    if is_single(x):
        return [x]
    if isinstance(x, (list, tuple)):
        if len(x) == 0:
            raise InvalidInputError(f"`{what}` is an empty list")
        return list(x)
    raise InvalidInputError(f"`{what}`: expected a path, bytes, an array or a list of them, got {type(x).__name__}")


def _item_position(index: int, batch: int) -> str:
    return f"item {index} of the batch" if batch > 1 else "the input"


def _item_name(x, index: int, batch: int) -> str:
    where = _item_position(index, batch)
    return f"{where} ({describe_source(x)})" if is_media_source(x) else where


# ----------------------------------------------------------------------------------------------


class SocialMAEFeatureExtractor(FeatureExtractionMixin):
    r"""Turns videos and audio into `input_values` (fbank) and `pixel_values` (frames) for Social-MAE/CAV-MAE.

    Use `SocialMAEFeatureExtractor.social_mae()` or `.cav_mae()` for the originals' settings (the plain
    constructor gives Social-MAE's).

    Args:
        sampling_rate: Waveform rate the fbank expects (Hz); other rates are resampled.
        num_mel_bins: Mel bins of the fbank.
        max_length: Fbank frames per clip (10 ms each); shorter clips are zero-padded, longer cropped.
        do_normalize_audio: Apply `(fbank - audio_mean) / audio_std`.
        audio_mean, audio_std: Dataset statistics of the log-mel values.
        audio_channel_mix: `"first"` keeps the first channel (what both originals did: torchaudio's
            kaldi.fbank reads channel 0, CAV-MAE's extraction ran `sox remix 1`); `"mean"` averages them.
        num_frames: Frames per clip in `pixel_values`.
        frame_sampling: `"window"` (Social-MAE: frames at `sample_fps` in a `window_seconds` window) or
            `"spread"` (CAV-MAE: `spread_slots` frames spread over the first `spread_seconds`, one used).
        sample_fps, window_seconds: The window sampling's rate and length.
        spread_slots, spread_seconds: The spread sampling's slot count and span.
        image_size: Output frame side (square).
        resize_mode: `"stretch"` (torch `F.interpolate` to image_size x image_size, aspect ignored) or
            `"shorter_side_center_crop"` (PIL resize of the shorter side, then centre crop).
        resample: `"bicubic"` or `"bilinear"`.
        antialias: Antialiasing for `"stretch"` (PIL always antialiases).
        channel_order: `"bgr"` (Social-MAE's OpenCV frames) or `"rgb"`.
        do_normalize_video: Apply `(x - image_mean) / image_std` per channel, in `channel_order`.
        image_mean, image_std: Per-channel statistics, applied to the channels in `channel_order`.
    """

    model_input_names: ClassVar[list[str]] = ["input_values", "pixel_values"]

    def __init__(
        self,
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        max_length: int = 1024,
        do_normalize_audio: bool = True,
        audio_mean: float = -6.2943,
        audio_std: float = 12.26344,
        audio_channel_mix: str = "first",
        num_frames: int = 8,
        frame_sampling: str = "window",
        sample_fps: float = 2.0,
        window_seconds: float = 4.0,
        spread_slots: int = 10,
        spread_seconds: float = 10.0,
        image_size: int = 224,
        resize_mode: str = "stretch",
        resample: str = "bicubic",
        antialias: bool = False,
        channel_order: str = "bgr",
        do_normalize_video: bool = True,
        image_mean: Sequence[float] = IMAGENET_MEAN,
        image_std: Sequence[float] = IMAGENET_STD,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sampling_rate = int(sampling_rate)
        self.num_mel_bins = int(num_mel_bins)
        self.max_length = int(max_length)
        self.do_normalize_audio = bool(do_normalize_audio)
        self.audio_mean = float(audio_mean)
        self.audio_std = float(audio_std)
        self.audio_channel_mix = audio_channel_mix
        self.num_frames = int(num_frames)
        self.frame_sampling = frame_sampling
        self.sample_fps = float(sample_fps)
        self.window_seconds = float(window_seconds)
        self.spread_slots = int(spread_slots)
        self.spread_seconds = float(spread_seconds)
        self.image_size = int(image_size)
        self.resize_mode = resize_mode
        self.resample = resample
        self.antialias = bool(antialias)
        self.channel_order = channel_order
        self.do_normalize_video = bool(do_normalize_video)
        self.image_mean = [float(v) for v in image_mean]
        self.image_std = [float(v) for v in image_std]
        self._validate_settings()

    def _validate_settings(self) -> None:
        checks = [
            (self.audio_channel_mix in ("first", "mean"), "audio_channel_mix must be 'first' or 'mean'"),
            (self.frame_sampling in _FRAME_SAMPLINGS, f"frame_sampling must be one of {_FRAME_SAMPLINGS}"),
            (self.resize_mode in _RESIZE_MODES, f"resize_mode must be one of {_RESIZE_MODES}"),
            (self.resample in _RESAMPLES, f"resample must be one of {tuple(_RESAMPLES)}"),
            (self.channel_order in ("rgb", "bgr"), "channel_order must be 'rgb' or 'bgr'"),
            (
                self.sampling_rate > 0 and self.max_length > 0 and self.num_mel_bins > 0,
                "audio sizes must be > 0",
            ),
            (self.audio_std > 0, "audio_std must be > 0"),
            (self.num_frames > 0 and self.image_size > 0, "num_frames and image_size must be > 0"),
            (self.sample_fps > 0 and self.window_seconds > 0, "sample_fps and window_seconds must be > 0"),
            (
                self.spread_slots > 0 and self.spread_seconds > 0,
                "spread_slots and spread_seconds must be > 0",
            ),
            (len(self.image_mean) == 3 and len(self.image_std) == 3, "image_mean/image_std need 3 values"),
            (all(s > 0 for s in self.image_std), "image_std must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"SocialMAEFeatureExtractor: {message}")

    # -- presets -----------------------------------------------------------------------------------

    @classmethod
    def social_mae(cls, **overrides) -> SocialMAEFeatureExtractor:
        """Social-MAE (Bohy et al., FG 2024): 8 BGR frames at 2 fps, stretched bicubic (no antialias)."""
        return cls(**{**_SOCIAL_MAE_PRESET, **overrides})

    @classmethod
    def cav_mae(cls, **overrides) -> SocialMAEFeatureExtractor:
        """CAV-MAE (Gong et al., ICLR 2023): one RGB frame, shorter side 224 (PIL bilinear), centre crop."""
        return cls(**{**_CAV_MAE_PRESET, **overrides})

    @classmethod
    def for_model_config(cls, config, **overrides) -> SocialMAEFeatureExtractor:
        """The preset of the model's family (one frame: CAV-MAE, else Social-MAE), sized to that model."""
        preset = cls.cav_mae if config.num_frames == 1 else cls.social_mae
        sizes = {
            "num_frames": config.num_frames,
            "image_size": config.image_size,
            "max_length": config.audio_length,
            "num_mel_bins": config.num_mel_bins,
        }
        return preset(**{**sizes, **overrides})

    # -- derived sizes -----------------------------------------------------------------------------

    @property
    def max_audio_samples(self) -> int:
        """Samples (at `sampling_rate`) that fill `max_length` fbank frames; later ones are cropped."""
        return fbank_num_samples(self.max_length, self.sampling_rate)

    # -- call ----------------------------------------------------------------------------------------

    def __call__(
        self,
        videos=None,
        audio=None,
        sampling_rate: int | None = None,
        return_tensors: str | None = "pt",
        training: bool = False,
        sample_indices_fn: Callable | None = None,
        generator: torch.Generator | None = None,
        modalities: str | Sequence[str] | None = None,
        missing_audio: str = "error",
        video_fps: float | Sequence[float] | None = None,
        device: str | torch.device | None = None,
        start_s: float | Sequence[float] | None = None,
        end_s: float | Sequence[float | None] | None = None,
    ) -> BatchFeature:
        """Prepare one item or a batch (a list) for the model.

        Args:
            videos: A media file (path or `bytes`; its own audio track is used too), decoded frames
                `(frames, height, width, 3)` uint8 RGB (numpy or torch), or a list of RGB PIL images /
                `(height, width, 3)` arrays; or a list of such videos (a batch).
            audio: A media file (an audio file, or a video file whose audio track is used), or a raw
                waveform `(samples,)` / `(channels, samples)` (float in [-1, 1], or int16); or a list
                (a batch). When given with `videos`, it replaces the videos' own audio tracks.
            sampling_rate: Rate of raw waveforms (required for them; ignored for files).
            return_tensors: `"pt"` (default) or `"np"`.
            training: Random frame choice (Social-MAE window start, CAV-MAE slot) instead of the
                deterministic evaluation choice (centred window, middle slot).
            sample_indices_fn: transformers' convention, `fn(metadata=VideoMetadata, num_frames=...)`
                -> `num_frames` frame indices; overrides the preset's frame choice.
            generator: `torch.Generator` for the random choices when `training`.
            modalities: `"audio"`, `"video"` or both; default: video when `videos` is given, audio when
                `audio` is given or `videos` are media files (whose audio tracks are then required).
            missing_audio: `"error"` (default): a media file without an audio track when audio is
                wanted raises `MissingModalityError`. `"drop"`: when NO item of the batch has audio,
                return video only; a batch where only some items lack audio still raises (naming them),
                since a batched tensor cannot have holes and nothing is zero-filled.
            video_fps: Frame rate of decoded-frame videos (one value, or one per item); required for them.
            device: Where the fbank and the resize run (default: CPU, or the device of torch waveforms).
            start_s, end_s: Use only this time range of every input (one value, or one per item; seconds
                from the start; `end_s=None`: to the end). The range is then the clip: its audio alone is
                mean-subtracted and padded/cropped, and frames are sampled among the frames shown in it
                (frame `i` is shown at `i / fps`). Media files are decoded from a seek point near
                `start_s`, so windows of a long file cost only the window. For windows over a long
                recording, see the `audio-visual-classification` pipeline's `chunk_length_s`.

        Returns:
            `BatchFeature` with `input_values` `(batch, max_length, num_mel_bins)` float32 (time first)
            and/or `pixel_values` `(batch, num_frames, 3, image_size, image_size)` float32.
        """
        video_items = _as_batch(videos, _is_single_video, "videos")
        audio_items = _as_batch(audio, _is_single_audio, "audio")
        if video_items is None and audio_items is None:
            raise InvalidInputError("give `videos`, `audio` or both")
        if video_items is not None and audio_items is not None and len(video_items) != len(audio_items):
            raise InvalidInputError(f"`videos` has {len(video_items)} items but `audio` has {len(audio_items)}")
        batch = len(video_items if video_items is not None else audio_items)
        want_video, want_audio = self._resolve_modalities(modalities, video_items, audio_items)
        if missing_audio not in ("error", "drop"):
            raise ValueError(f"missing_audio must be 'error' or 'drop', got {missing_audio!r}")
        if return_tensors not in ("pt", "np", None):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        if training and generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        fps_list = self._per_item_fps(video_fps, batch)
        ranges = self._per_item_ranges(start_s, end_s, batch)

        # Open every media file once; both modalities come from that one opening.
        opened: dict[int, MediaFile] = {}
        try:
            audio_sources = (audio_items if audio_items is not None else video_items) if want_audio else []
            waveforms: list[np.ndarray | None] = []
            if want_audio:
                for i, source in enumerate(audio_sources):
                    waveforms.append(
                        self._load_waveform(
                            source, i, batch, sampling_rate, opened, video_items, audio_items, ranges[i]
                        )
                    )
                missing = [i for i, w in enumerate(waveforms) if w is None]
                if missing:
                    if missing_audio == "drop" and len(missing) == batch:
                        want_audio = False
                    else:
                        names = ", ".join(_item_name(audio_sources[i], i, batch) for i in missing)
                        hint = (
                            " (with missing_audio='drop' either every item or none may lack audio)"
                            if missing_audio == "drop"
                            else "; pass modalities='video' or missing_audio='drop' for video only"
                        )
                        raise MissingModalityError(f"no audio track in {names}{hint}")
            frames: list[np.ndarray] = []
            if want_video:
                for i, item in enumerate(video_items):
                    frames.append(
                        self._load_frames(
                            item, i, batch, fps_list[i], opened, training, sample_indices_fn, generator, ranges[i]
                        )
                    )
        finally:
            for media in opened.values():
                media.close()

        device = self._pick_device(device, audio_items)
        data: dict[str, Any] = {}
        if want_audio:
            data["input_values"] = self._fbank_batch(waveforms, device)
        if want_video:
            data["pixel_values"] = torch.stack([self._transform_frames(f, device) for f in frames])
        if return_tensors == "np":
            data = {k: v.detach().cpu().numpy() for k, v in data.items()}
        return BatchFeature(data=data)

    # -- planning --------------------------------------------------------------------------------------

    @staticmethod
    def _resolve_modalities(modalities, video_items, audio_items) -> tuple[bool, bool]:
        if modalities is None:
            want_video = video_items is not None
            want_audio = audio_items is not None or any(is_media_source(v) for v in video_items)
            return want_video, want_audio
        chosen = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        if not chosen or any(m not in _MODALITIES for m in chosen):
            raise ValueError(f"modalities must be a non-empty subset of {_MODALITIES}, got {modalities!r}")
        want_video, want_audio = "video" in chosen, "audio" in chosen
        if want_video and video_items is None:
            raise InvalidInputError("modalities include 'video' but no `videos` were given")
        if want_audio and audio_items is None and not all(is_media_source(v) for v in video_items):
            raise InvalidInputError(
                "modalities include 'audio' but `audio` is not given and not every video is a media file"
            )
        return want_video, want_audio

    def _per_item_fps(self, video_fps, batch: int) -> list[float | None]:
        if video_fps is None:
            return [None] * batch
        values = list(video_fps) if isinstance(video_fps, (list, tuple)) else [video_fps] * batch
        if len(values) != batch:
            raise InvalidInputError(f"`video_fps` has {len(values)} values for a batch of {batch}")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not v > 0:
                raise InvalidInputError(f"`video_fps` must be a positive number, got {v!r}")
        return [float(v) for v in values]

    @staticmethod
    def _per_item_ranges(start_s, end_s, batch: int) -> list[tuple[Fraction, Fraction | None] | None]:
        """One (start, end) per item, validated; None for items used whole."""
        if start_s is None and end_s is None:
            return [None] * batch
        starts = list(start_s) if isinstance(start_s, (list, tuple)) else [start_s] * batch
        ends = list(end_s) if isinstance(end_s, (list, tuple)) else [end_s] * batch
        for what, values in (("start_s", starts), ("end_s", ends)):
            if len(values) != batch:
                raise InvalidInputError(f"`{what}` has {len(values)} values for a batch of {batch}")
        return [
            parse_time_range(start, end, _item_position(i, batch)) for i, (start, end) in enumerate(zip(starts, ends))
        ]

    @staticmethod
    def _pick_device(device, audio_items) -> torch.device:
        if device is not None:
            return torch.device(device)
        devices = {a.device for a in (audio_items or []) if isinstance(a, torch.Tensor)}
        return devices.pop() if len(devices) == 1 else torch.device("cpu")

    @staticmethod
    def _open(source, index: int, batch: int, opened: dict[int, MediaFile], key: int) -> MediaFile:
        if key not in opened:
            opened[key] = MediaFile(source, name=_item_name(source, index, batch))
        return opened[key]

    # -- audio ---------------------------------------------------------------------------------------

    def _load_waveform(self, source, i, batch, sampling_rate, opened, video_items, audio_items, time_range=None):
        """Mono float32 waveform at `sampling_rate`, cropped to what the fbank uses; None: no track."""
        name = _item_name(source, i, batch)
        shared = video_items is not None and audio_items is None  # the source IS the video item
        if shared and not is_media_source(source):
            return None  # decoded frames carry no audio track
        if is_media_source(source):
            # The same object as the video item -> share its opening.
            media = self._open(source, i, batch, opened, key=i if shared else -1 - i)
            if not media.has_audio:
                return None
            # The whole track (or range): the originals subtract the mean of the whole waveform.
            start, end = time_range or (None, None)
            channels = media.read_audio(self.sampling_rate, start_s=start, end_s=end)
            if not shared:
                media.close()
                del opened[-1 - i]
            wave = self._mix(channels)
        elif _is_array(source):
            wave = self._raw_waveform(source, name, sampling_rate)
            if time_range is not None:
                start, end = time_range
                wave = wave[
                    round(start * self.sampling_rate) : None if end is None else round(end * self.sampling_rate)
                ]
        else:
            raise InvalidInputError(f"{name}: unsupported audio input of type {type(source).__name__}")
        if wave.shape[0] == 0:
            if time_range is not None:
                raise InvalidInputError(f"{name}: no audio from {_describe_range(time_range)} (past the end?)")
            raise InvalidInputError(f"{name}: zero-length audio")
        window = fbank_num_samples(1, self.sampling_rate)
        if wave.shape[0] < window:
            raise InvalidInputError(
                f"{name}: audio too short: {wave.shape[0]} samples at {self.sampling_rate} Hz, "
                f"need at least {window} (one 25 ms fbank frame)"
            )
        if not np.all(np.isfinite(wave)):
            raise InvalidInputError(f"{name}: audio contains NaN or infinite samples")
        # The originals: waveform - waveform.mean() over the whole clip, fbank, then crop the frames.
        # Frames past max_length never matter, so crop the samples after the mean.
        full = torch.from_numpy(np.ascontiguousarray(wave))
        return (full - full.mean()).numpy()[: self.max_audio_samples]

    def _mix(self, channels: np.ndarray) -> np.ndarray:
        if channels.shape[0] == 1 or self.audio_channel_mix == "first":
            return channels[0]
        return channels.mean(axis=0, dtype=np.float64).astype(np.float32)

    def _raw_waveform(self, x, name: str, sampling_rate) -> np.ndarray:
        if sampling_rate is None:
            raise InvalidInputError(f"{name}: raw audio needs `sampling_rate`")
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)):
            raise InvalidInputError(f"`sampling_rate` must be an int (Hz), got {sampling_rate!r}")
        if sampling_rate <= 0:
            raise InvalidInputError(f"`sampling_rate` must be positive, got {sampling_rate}")
        arr = x.detach().cpu() if isinstance(x, torch.Tensor) else x
        if isinstance(arr, torch.Tensor):
            if arr.dtype == torch.bfloat16:
                arr = arr.float()
            arr = arr.numpy()
        if arr.dtype == np.int16:
            arr = arr.astype(np.float32) / 32768.0  # what torchaudio.load does for 16-bit PCM
        elif np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32, copy=False)
        else:
            raise InvalidInputError(f"{name}: audio dtype must be float or int16, got {arr.dtype}")
        if arr.ndim == 1:
            arr = arr[None]
        if arr.size == 0:
            raise InvalidInputError(f"{name}: zero-length audio")
        if arr.shape[0] > MAX_AUDIO_CHANNELS or arr.shape[0] > arr.shape[1]:
            raise InvalidInputError(
                f"{name}: expected audio shaped (samples,) or (channels, samples), got {tuple(arr.shape)}; "
                "transpose (samples, channels) data, and pass a batch as a list"
            )
        if not np.all(np.isfinite(arr)):
            raise InvalidInputError(f"{name}: audio contains NaN or infinite samples")
        peak = float(np.abs(arr).max())
        if peak > 2.0:
            raise InvalidInputError(
                f"{name}: float audio peaks at {peak:.4g}; expected [-1, 1] (integer-scaled samples? "
                "divide by 32768, or pass int16)"
            )
        wave = self._mix(arr)
        if sampling_rate != self.sampling_rate:
            wave = resample_waveform(wave, int(sampling_rate), self.sampling_rate)
        return wave

    def _fbank_batch(self, waveforms: list[np.ndarray], device: torch.device) -> torch.Tensor:
        lengths = [w.shape[0] for w in waveforms]
        padded = np.zeros((len(waveforms), max(lengths)), np.float32)
        for row, w in zip(padded, waveforms):
            row[: w.shape[0]] = w
        feats, _ = log_mel_fbank(
            torch.from_numpy(padded).to(device),
            lengths,
            sample_rate=self.sampling_rate,
            num_mel_bins=self.num_mel_bins,
            max_frames=self.max_length,
            subtract_mean=False,  # done on the whole waveform in _load_waveform
        )
        out = feats.new_zeros(len(waveforms), self.max_length, self.num_mel_bins)
        out[:, : feats.shape[1]] = feats
        if self.do_normalize_audio:
            # The originals: (fbank - mean) / std, after zero padding (padding becomes -mean / std).
            out = (out - self.audio_mean) / self.audio_std
        return out

    # -- video ---------------------------------------------------------------------------------------

    def _load_frames(
        self, item, i, batch, fps, opened, training, sample_indices_fn, generator, time_range=None
    ) -> np.ndarray:
        """Uint8 frames (num_frames, H, W, 3) in `channel_order`, chosen as the preset says."""
        name = _item_name(item, i, batch)
        if is_media_source(item):
            media = self._open(item, i, batch, opened, key=i)
            info = media.video_info()
            self._check_size(info.width, info.height, name)
            if info.num_frames <= 0:
                raise MediaDecodeError(f"{name}: the video stream has no frames")
            first, count = _frames_in_range(info.num_frames, info.fps, time_range, name)
            metadata = VideoMetadata(
                total_num_frames=count,
                fps=float(info.fps),
                width=info.width,
                height=info.height,
                duration=count / float(info.fps),
                video_backend="pyav",
            )
            indices = self._choose_indices(metadata, name, training, sample_indices_fn, generator)
            times = [Fraction(first + int(k)) / info.fps for k in indices]
            return media.read_frames_at(times, channel_order=self.channel_order)
        frames = self._decoded_frames(item, name)
        if fps is None:
            raise InvalidInputError(f"{name}: decoded frames need `video_fps` (their frame rate)")
        first, count = _frames_in_range(len(frames), Fraction(fps), time_range, name)
        frames = frames[first : first + count]
        metadata = VideoMetadata(
            total_num_frames=len(frames),
            fps=fps,
            width=frames[0].shape[1],
            height=frames[0].shape[0],
            duration=len(frames) / fps,
            video_backend="array",
        )
        indices = self._choose_indices(metadata, name, training, sample_indices_fn, generator)
        chosen = np.stack([np.asarray(frames[k]) for k in indices])
        return chosen[..., ::-1] if self.channel_order == "bgr" else chosen

    def _decoded_frames(self, item, name: str):
        """Validate decoded RGB frames; returns an indexable sequence of (H, W, 3) uint8 arrays/images."""
        if _is_array(item):
            arr = item.detach().cpu().numpy() if isinstance(item, torch.Tensor) else item
            if arr.ndim != 4 or arr.shape[-1] != 3:
                raise InvalidInputError(f"{name}: frames must be (frames, height, width, 3), got {arr.shape}")
            if arr.dtype != np.uint8:
                raise InvalidInputError(f"{name}: frames must be uint8 RGB, got dtype {arr.dtype}")
            if arr.shape[0] == 0:
                raise InvalidInputError(f"{name}: the video has 0 frames")
            self._check_size(arr.shape[2], arr.shape[1], name)
            return arr
        frames = []
        for k, frame in enumerate(item):
            if isinstance(frame, PIL.Image.Image):
                if frame.mode != "RGB":
                    raise InvalidInputError(f"{name}: frame {k} is a PIL image in mode {frame.mode}, need RGB")
                frame = np.asarray(frame)
            else:
                frame = frame.detach().cpu().numpy() if isinstance(frame, torch.Tensor) else frame
                if frame.shape[-1] != 3 or frame.dtype != np.uint8:
                    raise InvalidInputError(
                        f"{name}: frame {k} must be (height, width, 3) uint8, got {frame.shape} {frame.dtype}"
                    )
            if frames and frame.shape != frames[0].shape:
                raise InvalidInputError(f"{name}: frame {k} is {frame.shape}, frame 0 is {frames[0].shape}")
            frames.append(frame)
        self._check_size(frames[0].shape[1], frames[0].shape[0], name)
        return frames

    @staticmethod
    def _check_size(width: int, height: int, name: str) -> None:
        if width < MIN_FRAME_SIDE or height < MIN_FRAME_SIDE:
            raise InvalidInputError(
                f"{name}: frames are {width}x{height}; need at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}"
            )

    def _choose_indices(self, metadata: VideoMetadata, name, training, sample_indices_fn, generator) -> list[int]:
        count, fps = metadata.total_num_frames, metadata.fps
        if sample_indices_fn is not None:
            raw = np.asarray(sample_indices_fn(metadata=metadata, num_frames=self.num_frames))
            if raw.ndim != 1 or len(raw) != self.num_frames or not np.issubdtype(raw.dtype, np.integer):
                raise InvalidInputError(
                    f"{name}: sample_indices_fn must return {self.num_frames} integer indices, got {raw!r}"
                )
            if raw.min() < 0 or raw.max() >= count:
                raise InvalidInputError(f"{name}: sample_indices_fn returned indices outside [0, {count})")
            return [int(k) for k in raw]
        if self.frame_sampling == "window":
            start = social_mae_window_start(
                count, fps, window_seconds=self.window_seconds, training=training, generator=generator
            )
            return social_mae_frame_indices(
                count,
                fps,
                start,
                num_frames=self.num_frames,
                sample_fps=self.sample_fps,
                window_seconds=self.window_seconds,
            )
        # "spread": num_frames slots (CAV-MAE uses one), each chosen like the original's single one.
        return [
            cav_mae_frame_index(
                count,
                fps,
                cav_mae_slot(self.spread_slots, training=training, generator=generator),
                num_slots=self.spread_slots,
                max_seconds=self.spread_seconds,
            )
            for _ in range(self.num_frames)
        ]

    def _transform_frames(self, frames: np.ndarray, device: torch.device) -> torch.Tensor:
        """(T, H, W, 3) uint8 -> (T, 3, S, S) float32, resized and normalised as the preset says."""
        size = self.image_size
        if self.resize_mode == "stretch":
            x = torch.from_numpy(np.ascontiguousarray(frames)).to(device)
            x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0  # ToTensor: uint8 -> float / 255 first
            if x.shape[-2:] != (size, size):
                x = F.interpolate(
                    x, size=(size, size), mode=self.resample, align_corners=False, antialias=self.antialias
                )
        else:
            x = torch.from_numpy(np.stack([self._pil_shorter_side_crop(f) for f in frames])).to(device)
            x = x.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        if self.do_normalize_video:
            mean = torch.tensor(self.image_mean, dtype=torch.float32, device=device)[:, None, None]
            std = torch.tensor(self.image_std, dtype=torch.float32, device=device)[:, None, None]
            x = (x - mean) / std
        return x

    def _pil_shorter_side_crop(self, frame: np.ndarray) -> np.ndarray:
        """torchvision's Resize(size) + CenterCrop(size) on a PIL image, in `channel_order`."""
        size = self.image_size
        rgb = frame[..., ::-1] if self.channel_order == "bgr" else frame
        image = PIL.Image.fromarray(np.ascontiguousarray(rgb))
        w, h = image.size
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = size, int(size * long / short)  # torchvision truncates the long side
        new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
        if (new_w, new_h) != (w, h):
            image = image.resize((new_w, new_h), _RESAMPLES[self.resample])
        top = round((new_h - size) / 2.0)
        left = round((new_w - size) / 2.0)
        out = np.asarray(image.crop((left, top, left + size, top + size)))
        return out[..., ::-1] if self.channel_order == "bgr" else out


def _describe_range(time_range) -> str:
    start, end = time_range
    return f"{float(start):g} s to " + ("the end" if end is None else f"{float(end):g} s")


def _frames_in_range(num_frames: int, fps: Fraction, time_range, name: str) -> tuple[int, int]:
    """First index and count of the frames shown in [start, end): frame i is shown at i / fps."""
    if time_range is None:
        return 0, num_frames
    start, end = time_range
    first = math.ceil(start * fps)
    stop = num_frames if end is None else min(num_frames, math.ceil(end * fps))
    if stop <= first:
        raise InvalidInputError(
            f"{name}: no video frame from {_describe_range(time_range)} (the video has {num_frames} frames at "
            f"{float(fps):g} fps, {num_frames / float(fps):.2f} s)"
        )
    return first, stop - first


def resample_waveform(wave: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Mono float32 resampling with libswresample (PyAV), the resampler media files go through too."""
    if source_rate == target_rate:
        return wave
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[None], dtype=np.float32), format="fltp", layout="mono")
    frame.sample_rate = source_rate
    frame.pts = 0
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=target_rate)
    chunks = [out.to_ndarray()[0] for out in resampler.resample(frame)]
    chunks += [out.to_ndarray()[0] for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
