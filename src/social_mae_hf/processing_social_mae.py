"""Processor for Social-MAE and CAV-MAE: media files (or raw arrays) -> `input_values` and `pixel_values`.

Opens every media file once (PyAV, `media.py`) and hands its audio to [`SocialMAEFeatureExtractor`] and its
frames, with transformers' `VideoMetadata`, to [`SocialMAEVideoProcessor`] (which crops them around the face when
its `face_crop` is set). A time range (`start_s` / `end_s`) is cut here, for both modalities alike: the range is
then the clip. A call's options are routed as transformers routes them (`ProcessorMixin._merge_kwargs`).
"""

import difflib
import inspect
import logging
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import torch
from transformers.feature_extraction_utils import BatchFeature, FeatureExtractionMixin
from transformers.processing_utils import ProcessingKwargs, ProcessorMixin, Unpack
from transformers.video_processing_utils import VideoProcessorMixin

from .batching import as_batch, is_array, item_name, per_item
from .errors import InvalidInputError, MissingModalityError
from .feature_extraction_social_mae import SocialMAEFeatureExtractor, is_single_audio, pick_device
from .media import OpenedMedia, is_media_source, open_media
from .time_ranges import parse_time_range
from .unknown_settings import warn_unknown_settings
from .video_processing_social_mae import (
    SocialMAEVideoProcessor,
    SocialMAEVideoProcessorKwargs,
    check_video_fps,
    is_single_video,
)

__all__ = ["SocialMAEProcessor", "SocialMAEProcessorKwargs"]

logger = logging.getLogger(__name__)

_MODALITIES = ("audio", "video")
# The classes transformers checks the parts against, by name in its top-level module, where the video processor
# base exists only when torchvision is installed: checked here against the classes themselves.
_PART_BASES = {"feature_extractor": FeatureExtractionMixin, "video_processor": VideoProcessorMixin}
# The audio options a call takes (the feature extractor's settings are its own).
_AUDIO_OPTIONS = frozenset({"sampling_rate", "return_tensors", "device"})


# Evaluated annotations (no `from __future__ import annotations` here): transformers reads the TypedDicts in them.
class SocialMAEProcessorKwargs(ProcessingKwargs, total=False):
    """transformers' processor options, with every setting of the video processor as a video option."""

    videos_kwargs: SocialMAEVideoProcessorKwargs


class SocialMAEProcessor(ProcessorMixin):
    r"""Audio and video of media files (or raw waveforms / decoded frames) prepared for Social-MAE / CAV-MAE.

    `SocialMAEProcessor.social_mae()`, `.cav_mae()` and `.for_model_config(config)` give the originals' settings;
    `AutoProcessor.from_pretrained(folder)` the ones saved with a model.

    Args:
        feature_extractor: [`SocialMAEFeatureExtractor`], the audio part (`input_values`).
        video_processor: [`SocialMAEVideoProcessor`], the video part (`pixel_values`).
    """

    valid_processor_kwargs = SocialMAEProcessorKwargs

    def __init__(self, feature_extractor, video_processor):
        super().__init__(feature_extractor, video_processor)

    def check_argument_for_proper_class(self, argument_name, argument):
        base = _PART_BASES[argument_name]
        if not isinstance(argument, base):
            raise TypeError(f"{argument_name} must be a {base.__name__}, got {type(argument).__name__}")
        return base

    def save_pretrained(self, save_directory, **kwargs):
        """transformers' saving, which writes `auto_map` into the file and also onto this processor, where a
        loaded one has none (`from_dict` drops it): left as it was, so that a save/load round trip gives the same
        `to_dict()` as the processor saved, and as one built from the same parts."""
        had, before = "auto_map" in self.__dict__, self.__dict__.get("auto_map")
        try:
            return super().save_pretrained(save_directory, **kwargs)
        finally:
            if had:
                self.auto_map = before
            else:
                self.__dict__.pop("auto_map", None)

    @staticmethod
    def validate_init_kwargs(processor_config, valid_kwargs):
        """transformers' split of a loaded `processor_config.json` into used and unused keys; an unused key
        (a misspelled or misplaced setting) is warned about, with the closest setting of the processor or a part."""
        unused, valid = ProcessorMixin.validate_init_kwargs(processor_config, valid_kwargs)
        known = set(valid_kwargs) | _part_settings()[0] | _part_settings()[1]
        warn_unknown_settings("processor_config.json", unused, known - {"self", "kwargs"})
        misplaced = sorted(set(unused) & known)
        if misplaced:
            logger.warning(
                'processor_config.json: %s belong under its "feature_extractor" or "video_processor" entry; '
                "at the top level they are not used",
                misplaced,
            )
        return unused, valid

    # -- presets -----------------------------------------------------------------------------------

    @classmethod
    def social_mae(cls, **overrides) -> "SocialMAEProcessor":
        """Social-MAE (Bohy et al., FG 2024). `overrides`: settings of either part (e.g. `image_size`,
        `max_length`), by name."""
        audio, video = _split_settings(overrides)
        return cls(SocialMAEFeatureExtractor.social_mae(**audio), SocialMAEVideoProcessor.social_mae(**video))

    @classmethod
    def cav_mae(cls, **overrides) -> "SocialMAEProcessor":
        """CAV-MAE (Gong et al., ICLR 2023); `overrides` as in `social_mae`."""
        audio, video = _split_settings(overrides)
        return cls(SocialMAEFeatureExtractor.cav_mae(**audio), SocialMAEVideoProcessor.cav_mae(**video))

    @classmethod
    def for_model_config(cls, config, **overrides) -> "SocialMAEProcessor":
        """The preset of the model's family (one frame: CAV-MAE, else Social-MAE), sized to that model."""
        audio, video = _split_settings(overrides)
        return cls(
            SocialMAEFeatureExtractor.for_model_config(config, **audio),
            SocialMAEVideoProcessor.for_model_config(config, **video),
        )

    # -- call ----------------------------------------------------------------------------------------

    def __call__(
        self,
        videos=None,
        audio=None,
        training: bool | None = None,
        sample_indices_fn: Callable | None = None,
        generator: torch.Generator | None = None,
        modalities: str | Sequence[str] | None = None,
        missing_audio: str | None = None,
        video_fps: float | Sequence[float] | None = None,
        start_s: float | Sequence[float] | None = None,
        end_s: float | Sequence[float | None] | None = None,
        audio_stream: int | Sequence[int | None] | None = None,
        return_face_crop: bool | None = None,
        face_detector: Callable | None = None,
        **kwargs: Unpack[SocialMAEProcessorKwargs],
    ) -> BatchFeature:
        """Prepare one item or a batch (a list) for the model.

        Args:
            videos: A media file (path or `bytes`; its own audio track is used too), decoded frames
                `(frames, height, width, 3)` uint8 RGB (numpy or torch), or a list of RGB PIL images /
                `(height, width, 3)` arrays; or a list of such videos (a batch).
            audio: A media file (an audio file, or a video file whose audio track is used), or a raw
                waveform `(samples,)` / `(channels, samples)` (float in [-1, 1], or int16); or a list
                (a batch). When given with `videos`, it replaces the videos' own audio tracks.
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
                since a batched tensor cannot have holes and nothing is zero-filled; so does one where
                video is not asked for (nothing would be left).
            video_fps: Frame rate of decoded-frame videos (one value, or one per item, None for media files);
                required for them.
            start_s, end_s: Use only this time range of every input (one value, or one per item; seconds
                from the start; `end_s=None`: to the end). The range is then the clip: its audio alone is
                mean-subtracted and padded/cropped, and frames are sampled among the frames shown in it
                (frame `i` is shown at `i / fps`). Media files are decoded from a seek point near
                `start_s`, so windows of a long file cost only the window. For windows over a long
                recording, see the `audio-visual-classification` pipeline's `chunk_length_s`.
            audio_stream: Which audio track to read from the media files the audio comes from (0-based among
                their audio tracks; one value, or one per item): the `audio` files when given, else the `videos`
                files; default: the track flagged as default, else the first. A media file's chosen audio that is
                silent is reported with a warning (the voice may be on another track, or in a 5.1 centre channel:
                the feature extractor's `audio_channel_mix="downmix"`).
            return_face_crop: With a face-cropping video processor (its `face_crop` setting, e.g.
                `SocialMAEProcessor.social_mae(face_crop=True)`), also return `face_found` and `face_boxes` (see
                [`SocialMAEVideoProcessor.preprocess`]) when video is prepared (audio alone has no face to crop).
            face_detector: A face detector callable for this call (see [`SocialMAEVideoProcessor.preprocess`]).
            kwargs: transformers' processor options, flat or per modality (`videos_kwargs={...}`): `return_tensors`
                (`"pt"`, the default, or `"np"`); `device`, where the fbank and the resize run (default: CPU, or
                the device of torch waveforms); `sampling_rate` of raw waveforms (when not given, the feature
                extractor's is assumed with a warning, as transformers' extractors do); and any setting of the
                video processor, for this call (e.g. `num_frames`, or `do_sample_frames=False` to use every frame
                of decoded frames as given).

        Returns:
            `BatchFeature` with `input_values` `(batch, max_length, num_mel_bins)` float32 (time first)
            and/or `pixel_values` `(batch, num_frames, 3, height, width)` float32; with `return_face_crop`, also
            `face_found` `(batch,)` bool and `face_boxes` `(batch, num_frames, 4)` int64.
        """
        video_processor, sampling_rate, return_tensors, device = self._call_options(kwargs)
        training, return_face_crop = bool(training), bool(return_face_crop)
        missing_audio = "error" if missing_audio is None else missing_audio
        video_items = as_batch(videos, is_single_video, "videos")
        audio_items = as_batch(audio, is_single_audio, "audio")
        if video_items is None and audio_items is None:
            raise InvalidInputError("give `videos`, `audio` or both")
        if video_items is not None and audio_items is not None and len(video_items) != len(audio_items):
            raise InvalidInputError(f"`videos` has {len(video_items)} items but `audio` has {len(audio_items)}")
        items = video_items if video_items is not None else audio_items
        batch = len(items)
        want_video, want_audio = _resolve_modalities(modalities, video_items, audio_items)
        if missing_audio not in ("error", "drop"):
            raise ValueError(f"missing_audio must be 'error' or 'drop', got {missing_audio!r}")
        if return_tensors not in ("pt", "np", None):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        if training and generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if (return_face_crop or face_detector is not None) and video_processor.face_crop is None:
            asked = "return_face_crop" if return_face_crop else "face_detector"
            raise ValueError(f"{asked} needs a face crop: set the video processor's face_crop (e.g. face_crop=True)")
        if audio_items is not None and any(is_array(a) for a in audio_items):
            sampling_rate = self.feature_extractor.assumed_sampling_rate(sampling_rate)
        fps_list = check_video_fps(video_fps, batch)
        ranges = _per_item_ranges(start_s, end_s, items)
        streams = per_item(audio_stream, batch, "audio_stream")

        # Open every media file once; both modalities (and the face crop) come from that one opening.
        with OpenedMedia() as opened:
            sources = (audio_items if audio_items is not None else video_items) if want_audio else []
            clips = [
                self._audio_clip(source, i, batch, sampling_rate, opened, audio_items is None, ranges[i], streams[i])
                for i, source in enumerate(sources)
            ]
            missing = [i for i, clip in enumerate(clips) if clip is None]
            if missing and missing_audio == "drop" and len(missing) == batch and want_video:
                want_audio = False
            elif missing:
                raise MissingModalityError(_missing_audio_message(sources, missing, want_video))
            sampled = []
            for i, item in enumerate(video_items if want_video else []):
                name = item_name(item, i, batch)
                media = opened.get(item, i, name) if is_media_source(item) else None
                choice = dict(training=training, generator=generator, sample_indices_fn=sample_indices_fn)
                frames = video_processor.clip_frames(
                    item, name, fps_list[i], media=media, time_range=ranges[i], **choice
                )
                sampled.append(frames)

        device = pick_device(device, audio_items)
        data: dict[str, Any] = {}
        if want_audio:
            data["input_values"] = self.feature_extractor.fbank_features(clips, device)
        if want_video:
            frames, metadata = zip(*sampled)
            data.update(
                video_processor(
                    list(frames),
                    video_metadata=list(metadata),
                    do_sample_frames=False,
                    device=device,
                    return_face_crop=return_face_crop,
                    face_detector=face_detector,
                )
            )
        if return_tensors == "np":
            data = {k: v.detach().cpu().numpy() for k, v in data.items()}
        return BatchFeature(data=data)

    def _audio_clip(self, source, i, batch, sampling_rate, opened, from_videos, time_range, audio_stream):
        """The item's clip for the feature extractor (mono, mean subtracted, cropped); None: no audio track."""
        name = item_name(source, i, batch)
        if not is_media_source(source):
            # Decoded frames carry no audio track; a raw waveform is the audio.
            return None if from_videos else self.feature_extractor.raw_clip(source, sampling_rate, name, time_range)
        if from_videos:  # the video item: its opening is kept for the frames
            return self.feature_extractor.media_clip(opened.get(source, i, name, audio_stream), name, time_range)
        with open_media(source, name=name, audio_stream=audio_stream) as media:  # an audio file of its own
            return self.feature_extractor.media_clip(media, name, time_range)

    def _call_options(self, kwargs: dict) -> tuple[SocialMAEVideoProcessor, int | None, str | None, Any]:
        """transformers' routing of a call's options (`_merge_kwargs`): the video processor with this call's
        settings, `sampling_rate`, `return_tensors` and `device`. An option nothing here uses is refused (named
        with the closest one), where transformers would warn that it is ignored."""
        if "raw_speech" in kwargs:
            raise TypeError(
                "SocialMAEProcessor takes raw audio (or audio files) as `audio=`; `raw_speech=` is the feature "
                "extractor's name for it"
            )
        known = set(self.video_processor.valid_kwargs.__annotations__) | _AUDIO_OPTIONS
        known |= set(SocialMAEProcessorKwargs.__annotations__) | {"common_kwargs"}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            options = sorted(known | set(inspect.signature(type(self).__call__).parameters) - {"self", "kwargs"})
            hints = [difflib.get_close_matches(key, options, n=1) for key in unknown]
            named = ", ".join(f"{k!r}" + (f" (did you mean {h[0]!r}?)" if h else "") for k, h in zip(unknown, hints))
            raise TypeError(f"SocialMAEProcessor: unexpected argument(s) {named}")
        merged = self._merge_kwargs(SocialMAEProcessorKwargs, **kwargs)
        audio_options, video_options = merged["audio_kwargs"], merged["videos_kwargs"]
        # A flat or common option reaches every modality taking it; one given only in `text_kwargs` / `images_kwargs`
        # is unused.
        given_apart = {*merged["text_kwargs"], *merged["images_kwargs"]} - {*kwargs, *kwargs.get("common_kwargs", {})}
        unused = sorted(given_apart | (set(audio_options) - _AUDIO_OPTIONS))
        if unused:
            raise TypeError(
                f"SocialMAEProcessor: {unused} are not options of a call (it takes no text or images, and the "
                "feature extractor's settings are its own, e.g. SocialMAEProcessor.social_mae(max_length=...))"
            )
        picked = {}
        for key in ("return_tensors", "device"):
            values = {repr(options[key]): options[key] for options in (audio_options, video_options) if key in options}
            if len(values) > 1:
                raise ValueError(f"`{key}` is given twice, with different values: {sorted(values)}")
            picked[key] = next(iter(values.values()), None)
            video_options.pop(key, None)
        video_processor = self.video_processor.with_settings(**video_options) if video_options else self.video_processor
        return video_processor, audio_options.get("sampling_rate"), picked["return_tensors"], picked["device"]


def _part_settings() -> tuple[set[str], set[str]]:
    """The settings' names of the feature extractor and of the video processor."""
    audio_names = set(inspect.signature(SocialMAEFeatureExtractor.__init__).parameters) - {"self", "kwargs"}
    return audio_names, set(SocialMAEVideoProcessor.valid_kwargs.__annotations__) | {"image_size"}


def _missing_audio_message(sources: list, missing: list[int], want_video: bool) -> str:
    batch = len(sources)
    names = ", ".join(item_name(sources[i], i, batch) for i in missing)
    if not want_video:  # audio alone was asked for: dropping it would leave nothing
        hint = ""
    elif len(missing) < batch:
        hint = (
            "; pass modalities='video' for video only (with missing_audio='drop' either every item or none may "
            "lack audio)"
        )
    else:
        hint = "; pass modalities='video' or missing_audio='drop' for video only"
    return f"no audio track in {names}{hint}"


def _split_settings(overrides: dict) -> tuple[dict, dict]:
    """Preset overrides -> (feature extractor settings, video processor settings), by name."""
    audio_names, video_names = _part_settings()
    both = sorted(set(overrides) & audio_names & video_names)
    if both:
        raise ValueError(
            f"{both} is a setting of both the feature extractor and the video processor; build them apart: "
            "SocialMAEProcessor(SocialMAEFeatureExtractor.social_mae(...), SocialMAEVideoProcessor.social_mae(...))"
        )
    unknown = sorted(set(overrides) - audio_names - video_names)
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown} for SocialMAEFeatureExtractor / SocialMAEVideoProcessor")
    audio = {k: v for k, v in overrides.items() if k in audio_names}
    return audio, {k: v for k, v in overrides.items() if k not in audio_names}


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


def _per_item_ranges(start_s, end_s, items: list) -> list[tuple[Fraction, Fraction | None] | None]:
    """One (start, end) per item, validated (errors name the item); None for items used whole."""
    batch = len(items)
    if start_s is None and end_s is None:
        return [None] * batch
    starts, ends = per_item(start_s, batch, "start_s"), per_item(end_s, batch, "end_s")
    return [
        parse_time_range(start, end, item_name(items[i], i, batch)) for i, (start, end) in enumerate(zip(starts, ends))
    ]
