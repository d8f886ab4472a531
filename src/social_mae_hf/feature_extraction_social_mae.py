"""Feature extractor for Social-MAE and CAV-MAE: waveforms -> `input_values` (normalised Kaldi fbank).

Reproduces the originals' audio preprocessing (read from their data loaders): 16 kHz waveform, first channel
(see `audio_channel_mix`), minus its mean, Kaldi fbank (`fbank.py`, identical to torchaudio's), zero-padded or
cropped to `max_length` frames, then `(fbank - mean) / std` -- divided by std, NOT by 2 * std as in transformers'
AST extractor; the padding frames are normalised too (they become -mean / std), as in the originals.

Media files are decoded by [`SocialMAEProcessor`], which hands this extractor their audio; the frames go to
[`SocialMAEVideoProcessor`].
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import ClassVar

import av
import numpy as np
import torch
from transformers.feature_extraction_sequence_utils import SequenceFeatureExtractor
from transformers.feature_extraction_utils import BatchFeature

from .batching import as_batch, is_array, item_name
from .errors import InvalidInputError
from .fbank import fbank_num_samples, log_mel_fbank
from .media import CHANNEL_MIXES, SILENCE_THRESHOLD_DBFS, MediaFile, is_media_source, is_silent, mix_channels
from .time_ranges import describe_range, sample_range
from .unknown_settings import warn_unknown_settings

try:  # only the installed package reads folders saved before the processor split (a Hub folder's copy never needs it)
    from social_mae_hf.legacy_settings import audio_settings, is_legacy
except ImportError:  # this file as remote code without the package: its folder is in the current format

    def is_legacy(settings: dict) -> bool:
        return False


__all__ = [
    "SocialMAEFeatureExtractor",
    "is_single_audio",
    "pick_device",
    "resample_waveform",
]

logger = logging.getLogger(__name__)

MAX_AUDIO_CHANNELS = 16
# The highest rate audio hardware records (768 kHz DACs/ADCs); a larger `sampling_rate` is a mistake, not audio.
MAX_SAMPLING_RATE = 768_000

# Every setting, spelled out, so that a preset does not move when a constructor default does.
_SOCIAL_MAE_PRESET = dict(
    sampling_rate=16000,
    num_mel_bins=128,
    max_length=1024,
    do_normalize=True,
    mean=-6.2943,
    std=12.26344,
    audio_channel_mix="first",
)
# CAV-MAE differs in its audio statistics only.
_CAV_MAE_PRESET = {**_SOCIAL_MAE_PRESET, "mean": -5.081, "std": 4.4849}


def is_waveform(x) -> bool:
    """A raw waveform: `(samples,)` or `(channels, samples)` (numpy or torch)."""
    return is_array(x) and x.ndim in (1, 2)


def is_single_audio(x) -> bool:
    """One audio input, as opposed to a list of them: a media file or a raw waveform."""
    return is_media_source(x) or is_waveform(x)


# Settings of SequenceFeatureExtractor that reach `__init__` as keyword arguments (the others are named there).
_KNOWN_EXTRA_SETTINGS = ("padding_side",)


class SocialMAEFeatureExtractor(SequenceFeatureExtractor):
    r"""Turns waveforms into `input_values` (normalised Kaldi fbank, time first) for Social-MAE / CAV-MAE.

    Use `SocialMAEFeatureExtractor.social_mae()` or `.cav_mae()` for the originals' settings (the plain
    constructor gives Social-MAE's); for media files use [`SocialMAEProcessor`].

    Args:
        sampling_rate: Waveform rate the fbank expects (Hz); other rates are resampled.
        num_mel_bins: Mel bins of the fbank.
        max_length: Fbank frames per clip (10 ms each); shorter clips are zero-padded, longer cropped.
        do_normalize: Apply `(fbank - mean) / std`.
        mean, std: Dataset statistics of the log-mel values.
        audio_channel_mix: `"first"` keeps the first channel (what both originals did: torchaudio's
            kaldi.fbank reads channel 0, CAV-MAE's extraction ran `sox remix 1`); `"mean"` averages them;
            `"downmix"` is FFmpeg's mono downmix, which keeps a 5.1 track's centre channel (where films and
            phones put the voice). See `media.mix_channels`.
    """

    model_input_names: ClassVar[list[str]] = ["input_values"]

    def __init__(
        self,
        sampling_rate: int = 16000,
        num_mel_bins: int = 128,
        max_length: int = 1024,
        do_normalize: bool = True,
        mean: float = -6.2943,
        std: float = 12.26344,
        audio_channel_mix: str = "first",
        feature_size: int = 1,
        padding_value: float = 0.0,
        return_attention_mask: bool = False,
        **kwargs,
    ):
        if is_legacy(kwargs):
            # A folder saved before the processor split: its one file also holds the video settings.
            settings = audio_settings(
                {
                    "sampling_rate": sampling_rate,
                    "num_mel_bins": num_mel_bins,
                    "max_length": max_length,
                    "audio_channel_mix": audio_channel_mix,
                    **kwargs,
                }
            )
            do_normalize = settings.pop("do_normalize", do_normalize)
            mean, std = settings.pop("mean", mean), settings.pop("std", std)
            sampling_rate, num_mel_bins = settings.pop("sampling_rate"), settings.pop("num_mel_bins")
            max_length, audio_channel_mix = settings.pop("max_length"), settings.pop("audio_channel_mix")
            kwargs = settings
        known = set(inspect.signature(SocialMAEFeatureExtractor.__init__).parameters) - {"self", "kwargs"}
        warn_unknown_settings(type(self).__name__, kwargs, known | set(_KNOWN_EXTRA_SETTINGS))
        super().__init__(
            feature_size=feature_size,
            sampling_rate=int(sampling_rate),
            padding_value=padding_value,
            return_attention_mask=return_attention_mask,
            **kwargs,
        )
        self.num_mel_bins = int(num_mel_bins)
        self.max_length = int(max_length)
        self.do_normalize = bool(do_normalize)
        self.mean = float(mean)
        self.std = float(std)
        self.audio_channel_mix = audio_channel_mix
        self._validate_settings()

    def _validate_settings(self) -> None:
        checks = [
            (self.audio_channel_mix in CHANNEL_MIXES, f"audio_channel_mix must be one of {CHANNEL_MIXES}"),
            (
                0 < self.sampling_rate <= MAX_SAMPLING_RATE and self.max_length > 0 and self.num_mel_bins > 0,
                f"sampling_rate must be in (0, {MAX_SAMPLING_RATE}] Hz, max_length and num_mel_bins > 0",
            ),
            (self.std > 0, "std must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{type(self).__name__}: {message}")

    # -- presets -----------------------------------------------------------------------------------

    @classmethod
    def social_mae(cls, **overrides) -> SocialMAEFeatureExtractor:
        """Social-MAE (Bohy et al., FG 2024): its dataloader's fbank statistics."""
        return cls(**{**_SOCIAL_MAE_PRESET, **overrides})

    @classmethod
    def cav_mae(cls, **overrides) -> SocialMAEFeatureExtractor:
        """CAV-MAE (Gong et al., ICLR 2023): its dataset's fbank statistics."""
        return cls(**{**_CAV_MAE_PRESET, **overrides})

    @classmethod
    def for_model_config(cls, config, **overrides) -> SocialMAEFeatureExtractor:
        """The preset of the model's family (one frame: CAV-MAE, else Social-MAE), sized to that model."""
        preset = cls.cav_mae if config.num_frames == 1 else cls.social_mae
        return preset(**{"max_length": config.audio_length, "num_mel_bins": config.num_mel_bins, **overrides})

    # -- derived sizes -----------------------------------------------------------------------------

    @property
    def max_audio_samples(self) -> int:
        """Samples (at `sampling_rate`) that fill `max_length` fbank frames; later ones are cropped."""
        return fbank_num_samples(self.max_length, self.sampling_rate)

    # -- call ----------------------------------------------------------------------------------------

    def __call__(
        self,
        raw_speech,
        sampling_rate: int | None = None,
        return_tensors: str | None = "pt",
        device: str | torch.device | None = None,
        **kwargs,
    ) -> BatchFeature:
        """Prepare one waveform or a batch (a list) for the model.

        Args:
            raw_speech: A waveform `(samples,)` / `(channels, samples)` (float in [-1, 1], or int16; numpy or
                torch), or a list of them (a batch).
            sampling_rate: Their rate in Hz; other rates than the extractor's are resampled. When not given, the
                extractor's `sampling_rate` is assumed, with a warning, as transformers' feature extractors do.
            return_tensors: `"pt"` (default) or `"np"`.
            device: Where the fbank runs (default: CPU, or the device of torch waveforms).

        Returns:
            `BatchFeature` with `input_values` `(batch, max_length, num_mel_bins)` float32 (time first).
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {sorted(kwargs)}")
        # A media file is one input, refused below with a pointer to the processor, which reads files.
        items = as_batch(raw_speech, is_single_audio, "audio", "a waveform (an array)")
        if items is None:
            raise InvalidInputError("give `audio` (a waveform or a list of waveforms)")
        if return_tensors not in ("pt", "np", None):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        sampling_rate = self.assumed_sampling_rate(sampling_rate)
        waveforms = [self.raw_clip(x, sampling_rate, item_name(x, i, len(items))) for i, x in enumerate(items)]
        features = self.fbank_features(waveforms, pick_device(device, items))
        if return_tensors == "np":
            features = features.detach().cpu().numpy()
        return BatchFeature(data={"input_values": features})

    # -- steps ---------------------------------------------------------------------------------------

    def assumed_sampling_rate(self, sampling_rate: int | None) -> int:
        """`sampling_rate`, or when None this extractor's, with a warning (as transformers' extractors do): audio
        at another rate would silently give wrong features."""
        if sampling_rate is None:
            logger.warning(
                "%s: raw audio without `sampling_rate`; assuming the feature extractor's %d Hz. Pass `sampling_rate` "
                "to be sure: audio at another rate would give wrong features",
                type(self).__name__,
                self.sampling_rate,
            )
            return self.sampling_rate
        return sampling_rate

    def raw_clip(self, x, sampling_rate: int, name: str = "the input", time_range=None) -> np.ndarray:
        """A raw waveform's clip for `fbank_features`: mono at this rate, `time_range` (start, end or None, in
        seconds) cut out, minus its mean, cropped."""
        if not is_array(x):
            hint = ": a media file, which SocialMAEProcessor reads (`audio=`)" if is_media_source(x) else ""
            raise InvalidInputError(f"{name}: unsupported audio input of type {type(x).__name__}{hint}")
        wave = self.to_mono(x, sampling_rate, name)
        if time_range is None:
            return self.clip_waveform(wave, name)
        first, last = sample_range(*time_range, self.sampling_rate, name)
        return self.clip_waveform(wave[first:last], name, describe_range(time_range))

    def media_clip(self, media: MediaFile, name: str, time_range=None) -> np.ndarray | None:
        """An opened media file's clip for `fbank_features` (None: it has no audio track).

        Only the samples the fbank uses are decoded (a 3-hour file costs its first 10.25 s), channels mixed
        while decoding. The originals subtract the mean of the whole waveform; the mean of the window is
        subtracted, which changes nothing but float rounding, since the fbank removes each frame's own mean."""
        if not media.has_audio:
            return None
        start, end = time_range or (None, None)
        mix = self.audio_channel_mix
        wave = media.read_audio(self.sampling_rate, self.max_audio_samples, start_s=start, end_s=end, channel_mix=mix)[
            0
        ]
        if wave.size and is_silent(wave):  # what the model hears
            track = media.audio_track
            logger.warning(
                "%s: its audio is silent (below %g dBFS): audio track %d of %d (%s), audio_channel_mix=%r. A "
                "voice on another track needs audio_stream=; one in a 5.1 centre channel, audio_channel_mix="
                "'downmix'",
                name,
                SILENCE_THRESHOLD_DBFS,
                track.index,
                len(media.audio_tracks()),
                track.layout,
                mix,
            )
        return self.clip_waveform(wave, name, describe_range(time_range) if time_range is not None else None)

    def to_mono(self, x, sampling_rate, name: str = "the input") -> np.ndarray:
        """A raw waveform checked and turned into mono float32 at `self.sampling_rate` (int16 scaled as
        torchaudio scales it, channels mixed by `audio_channel_mix`, other rates resampled)."""
        _check_sampling_rate(sampling_rate, name)
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
        wave = self.mix(arr)
        if sampling_rate != self.sampling_rate:
            wave = resample_waveform(wave, int(sampling_rate), self.sampling_rate)
        return wave

    def mix(self, channels: np.ndarray) -> np.ndarray:
        """`(channels, samples)` -> `(samples,)` as `audio_channel_mix` says."""
        return channels[0] if channels.shape[0] == 1 else mix_channels(channels, self.audio_channel_mix)[0]

    def clip_waveform(self, wave: np.ndarray, name: str = "the input", described_range: str | None = None):
        """The mono waveform of a clip, minus its mean, cropped to the samples the fbank uses.

        `described_range` ("2 s to 5 s") names the time range the clip was cut from, for the error when it is
        empty."""
        if wave.shape[0] == 0:
            if described_range is not None:
                raise InvalidInputError(f"{name}: no audio from {described_range} (past the end?)")
            raise InvalidInputError(f"{name}: zero-length audio")
        window = fbank_num_samples(1, self.sampling_rate)
        if wave.shape[0] < window:
            raise InvalidInputError(
                f"{name}: audio too short: {wave.shape[0]} samples at {self.sampling_rate} Hz, "
                f"need at least {window} (one 25 ms fbank frame)"
            )
        # The originals: waveform - waveform.mean() over the whole clip, fbank, then crop the frames. Frames past
        # max_length never matter, so the clip is cropped first and the mean is that of the samples used: for
        # clips up to max_length (10.25 s) the same computation; for longer ones the same fbank up to float
        # rounding, because Kaldi's framing removes each frame's own mean (DC offset) anyway. Media files are
        # decoded only that far, and a raw waveform gives the features its file would.
        used = torch.from_numpy(np.ascontiguousarray(wave[: self.max_audio_samples]))
        mean = used.mean()
        # NaN or infinite exactly when a sample is (audio cannot overflow a sum); the unused rest of a raw waveform
        # is checked too: a NaN anywhere is a broken input.
        if not torch.isfinite(mean) or (wave.shape[0] > used.shape[0] and not np.isfinite(wave[used.shape[0] :].sum())):
            raise InvalidInputError(f"{name}: audio contains NaN or infinite samples")
        return (used - mean).numpy()

    def fbank_features(self, waveforms: list[np.ndarray], device: torch.device) -> torch.Tensor:
        """Clips from `clip_waveform` -> `(batch, max_length, num_mel_bins)` fbank, padded and normalised."""
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
            subtract_mean=False,  # done on the whole clip in clip_waveform
        )
        out = feats.new_zeros(len(waveforms), self.max_length, self.num_mel_bins)
        out[:, : feats.shape[1]] = feats
        if self.do_normalize:
            # The originals: (fbank - mean) / std, after zero padding (padding becomes -mean / std).
            out = (out - self.mean) / self.std
        return out


def _check_sampling_rate(sampling_rate, name: str) -> None:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, (int, np.integer)):
        raise InvalidInputError(f"`sampling_rate` must be an int (Hz), got {sampling_rate!r}")
    if sampling_rate <= 0:
        raise InvalidInputError(f"`sampling_rate` must be positive, got {sampling_rate}")
    if sampling_rate > MAX_SAMPLING_RATE:
        raise InvalidInputError(
            f"`sampling_rate` {sampling_rate} Hz is above {MAX_SAMPLING_RATE} Hz, the highest rate audio is recorded "
            "at; pass the waveform's rate in Hz"
        )


def pick_device(device, waveforms: Sequence | None) -> torch.device:
    """`device`, else the one device of the torch waveforms among `waveforms`, else the CPU."""
    if device is not None:
        return torch.device(device)
    devices = {a.device for a in waveforms or [] if isinstance(a, torch.Tensor)}
    return devices.pop() if len(devices) == 1 else torch.device("cpu")


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
