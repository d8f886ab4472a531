"""Video processor for Social-MAE and CAV-MAE: frames -> `pixel_values`, with the originals' frame choice.

Reproduces the originals' video preprocessing (read from their data loaders and extraction scripts):

Social-MAE: frames decoded by OpenCV, so BGR; 8 frames, window of 4 s at 2 fps (see `frame_sampling.py`); each
frame ToTensor (uint8 -> float / 255) THEN resized to 224 x 224 ignoring the aspect ratio with
`T.Resize((224, 224), interpolation=BICUBIC, antialias=None)` on the tensor, which in torchvision means bicubic
WITHOUT antialiasing (None -> False for tensors), and no clamping (values may leave [0, 1]); then ImageNet
mean/std applied to the B, G, R channels as they are.

CAV-MAE: one RGB frame. Its extraction script resized the shorter side to 224 with `T.Resize(224)` -- PIL,
BILINEAR (the default), antialiased -- centre-cropped 224, and saved a JPEG; the loader's own
`T.Resize(224, BICUBIC)` then leaves the 224 x 224 image untouched. So the effective resize is PIL bilinear. We
do not reproduce the JPEG round trip (quality 75 artefacts).

Optionally (`face_crop`, off in both presets) the sampled frames are cropped around the face before any resize
(`face_crop.py`): the originals were trained on face-centred video, and in-the-wild footage needs the same framing.

transformers' `BaseVideoProcessor` resizes with torchvision, which this package does not need: sampling,
decoding (PyAV, see `media.py`) and the transforms (torch `F.interpolate`, PIL) are this class's own; what it
takes from the base class is loading, saving, the Auto-class registration and the settings' names.
"""

from __future__ import annotations

import contextlib
import copy
from fractions import Fraction
from typing import ClassVar

import numpy as np
import torch
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import PILImageResampling
from transformers.processing_utils import VideosKwargs
from transformers.video_processing_utils import BaseVideoProcessor
from transformers.video_utils import VideoMetadata, default_sample_indices_fn

from .batching import as_batch, item_name
from .errors import InvalidInputError, MediaDecodeError
from .face_crop import FaceCropper, face_crop_settings, face_cropper
from .frame_inputs import (
    check_frame_size,
    check_video_fps,
    is_single_video,
    per_item_metadata,
    validate_frames,
)
from .frame_sampling import cav_mae_frame_index, cav_mae_slot, social_mae_frame_indices, social_mae_window_start
from .frame_transforms import INTERPOLATION, to_pixel_values
from .media import MediaFile, is_media_source, open_media
from .time_ranges import frames_in_range
from .unknown_settings import warn_unknown_settings

try:  # only the installed package reads folders saved before the processor split (a Hub folder's copy never needs it)
    from social_mae_hf.legacy_settings import is_legacy, video_settings
except ImportError:  # this file as remote code without the package: its folder is in the current format

    def is_legacy(settings: dict) -> bool:
        return False


__all__ = [
    "FACE_CROP_OUTPUTS",
    "SocialMAEVideoProcessor",
    "check_video_fps",
    "is_single_video",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# What `return_face_crop=True` adds to the output: the crop's report, never a model input.
FACE_CROP_OUTPUTS = ("face_found", "face_boxes")

_FRAME_SAMPLINGS = ("window", "spread", "uniform")

# Every setting, spelled out, so that a preset does not move when a class default does.
_SOCIAL_MAE_PRESET = dict(
    do_sample_frames=True,
    num_frames=8,
    frame_sampling="window",
    fps=2.0,
    window_seconds=4.0,
    spread_slots=10,
    spread_seconds=10.0,
    do_resize=True,
    size={"height": 224, "width": 224},
    resample=PILImageResampling.BICUBIC,
    antialias=False,
    do_center_crop=False,
    do_rescale=True,
    rescale_factor=1 / 255,
    do_normalize=True,
    image_mean=IMAGENET_MEAN,
    image_std=IMAGENET_STD,
    channel_order="bgr",
)
# CAV-MAE differs in everything about the frames but their normalisation.
_CAV_MAE_PRESET = {
    **_SOCIAL_MAE_PRESET,
    "num_frames": 1,
    "frame_sampling": "spread",
    "size": {"shortest_edge": 224},
    "do_center_crop": True,
    "crop_size": {"height": 224, "width": 224},
    "resample": PILImageResampling.BILINEAR,
    "antialias": True,
    "channel_order": "rgb",
}


class SocialMAEVideoProcessorKwargs(VideosKwargs, total=False):
    """transformers' video settings plus the originals' frame choice and colour order.

    frame_sampling (`str`): `"window"` (Social-MAE: frames at `fps` in a `window_seconds` window), `"spread"`
        (CAV-MAE: `spread_slots` frames spread over the first `spread_seconds`, one used per output frame) or
        `"uniform"` (transformers' default: `num_frames` spread over the whole video, or `fps` frames a second).
    window_seconds (`float`): Length of the Social-MAE window.
    spread_slots (`int`), spread_seconds (`float`): The CAV-MAE spread.
    antialias (`bool`): Antialiasing of the `F.interpolate` resize (`size` with height and width).
    channel_order (`str`): `"bgr"` (Social-MAE's OpenCV frames) or `"rgb"`; inputs are always RGB.
    face_crop (`dict`, `str` or `bool`): Crop the sampled frames around the face before the resize (see
        `face_crop.FaceCropSettings`); None (default): whole frames.
    """

    frame_sampling: str
    window_seconds: float
    spread_slots: int
    spread_seconds: float
    antialias: bool
    channel_order: str
    face_crop: dict | str | bool | None


# Every setting the constructor takes: transformers' video settings, this processor's, and what `to_dict` saves.
_KNOWN_SETTINGS = frozenset(SocialMAEVideoProcessorKwargs.__annotations__) | {"return_metadata"}


class SocialMAEVideoProcessor(BaseVideoProcessor):
    r"""Samples frames as the originals did and turns them into `pixel_values` for Social-MAE / CAV-MAE.

    Use `SocialMAEVideoProcessor.social_mae()` or `.cav_mae()` for the originals' settings (the plain constructor
    gives Social-MAE's); for audio and video of the same files use [`SocialMAEProcessor`].

    Args:
        do_sample_frames: Choose `num_frames` frames as `frame_sampling` says (else the frames given are used).
        num_frames: Frames per clip in `pixel_values`.
        frame_sampling: `"window"` (Social-MAE: frames at `fps` in a `window_seconds` window), `"spread"`
            (CAV-MAE: `spread_slots` frames spread over the first `spread_seconds`, one used) or `"uniform"`
            (transformers' `BaseVideoProcessor.sample_frames`: `num_frames` over the whole video, or, when a call
            gives `fps`, that many frames a second; needs no frame rate for `num_frames`).
        fps, window_seconds: The window sampling's rate and length.
        spread_slots, spread_seconds: The spread sampling's slot count and span.
        size: `{"height", "width"}`: stretch to that size with torch `F.interpolate` (aspect ignored);
            `{"shortest_edge"}`: PIL resize of the shorter side (then `do_center_crop` to `crop_size`).
        resample: `PILImageResampling.BICUBIC` or `.BILINEAR`.
        antialias: Antialiasing of the `F.interpolate` resize (PIL always antialiases).
        do_center_crop, crop_size: Centre crop after the resize (torchvision's rounding).
        do_rescale, rescale_factor: uint8 -> float: divided by `1 / rescale_factor` (255), as `ToTensor` does.
        do_normalize, image_mean, image_std: `(x - mean) / std` per channel, applied in `channel_order`.
        channel_order: `"bgr"` (Social-MAE's OpenCV frames) or `"rgb"`.
        face_crop: Crop each clip's sampled frames around its face, before the resize: `True` (the default
            settings, MTCNN), a detector name (`"mtcnn"`, `"haar"`, `"yunet"`), a dict of
            `face_crop.FaceCropSettings` or the settings themselves; stored (and saved) as a plain dict. A clip
            where no face is found keeps its whole frames. None (default, and in both presets): no crop.
    """

    model_input_names: ClassVar[list[str]] = ["pixel_values"]
    valid_kwargs = SocialMAEVideoProcessorKwargs

    do_sample_frames = True
    num_frames = 8
    frame_sampling = "window"
    fps = 2.0
    window_seconds = 4.0
    spread_slots = 10
    spread_seconds = 10.0
    do_resize = True
    size = {"height": 224, "width": 224}
    resample = PILImageResampling.BICUBIC
    antialias = False
    do_center_crop = False
    crop_size = None
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True
    image_mean = IMAGENET_MEAN
    image_std = IMAGENET_STD
    channel_order = "bgr"
    face_crop = None

    def __init__(self, **kwargs):
        if is_legacy(kwargs):
            # A folder saved before the processor split: its one file also holds the audio settings.
            kwargs = video_settings(kwargs)
        elif "feature_extractor_type" in kwargs:
            # transformers falls back to preprocessor_config.json, which is then a feature extractor's file alone.
            raise ValueError(
                f"{type(self).__name__}: got the settings of a {kwargs['feature_extractor_type']} (audio only); this "
                "folder has no video processor settings: save the whole SocialMAEProcessor"
            )
        else:
            warn_unknown_settings(type(self).__name__, kwargs, _KNOWN_SETTINGS)
        super().__init__(**kwargs)
        self._validate_settings()

    def _validate_settings(self) -> None:
        self.resample = PILImageResampling(self.resample)
        # One number is every channel's, as in transformers' image processors.
        if isinstance(self.image_mean, (int, float)):
            self.image_mean = [float(self.image_mean)] * 3
        if isinstance(self.image_std, (int, float)):
            self.image_std = [float(self.image_std)] * 3
        size, crop = self.size, self.crop_size
        checks = [
            (self.frame_sampling in _FRAME_SAMPLINGS, f"frame_sampling must be one of {_FRAME_SAMPLINGS}"),
            (self.resample in INTERPOLATION, "resample must be PILImageResampling.BICUBIC or .BILINEAR"),
            (self.channel_order in ("rgb", "bgr"), "channel_order must be 'rgb' or 'bgr'"),
            (self.num_frames > 0, "num_frames must be > 0"),
            (self.fps > 0 and self.window_seconds > 0, "fps and window_seconds must be > 0"),
            (self.spread_slots > 0 and self.spread_seconds > 0, "spread_slots and spread_seconds must be > 0"),
            (
                (size.height is not None and size.width is not None) or size.shortest_edge is not None,
                "size must be {'height', 'width'} (stretch) or {'shortest_edge'} (shorter side, PIL)",
            ),
            (
                size.shortest_edge is None or (self.do_center_crop and crop is not None),
                "size={'shortest_edge'} needs do_center_crop with crop_size, so that every frame has one size",
            ),
            (len(self.image_mean) == 3 and len(self.image_std) == 3, "image_mean/image_std need 3 values"),
            (all(s > 0 for s in self.image_std), "image_std must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{type(self).__name__}: {message}")
        # Plain JSON values, so that the settings are saved with the processor (never the cropper: `to_dict`
        # deep-copies the attributes, and a detector is an OpenCV object).
        try:
            crop = face_crop_settings(self.face_crop)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__}: {error}") from None
        self.face_crop = None if crop is None else crop.to_dict()

    # -- presets -----------------------------------------------------------------------------------

    @classmethod
    def social_mae(cls, image_size: int | None = None, **overrides) -> SocialMAEVideoProcessor:
        """Social-MAE (Bohy et al., FG 2024): 8 BGR frames at 2 fps, stretched bicubic (no antialias).
        `image_size`: the output side, instead of 224."""
        preset = dict(_SOCIAL_MAE_PRESET)
        if image_size is not None:
            preset["size"] = {"height": image_size, "width": image_size}
        return cls(**{**preset, **overrides})

    @classmethod
    def cav_mae(cls, image_size: int | None = None, **overrides) -> SocialMAEVideoProcessor:
        """CAV-MAE (Gong et al., ICLR 2023): one RGB frame, shorter side 224 (PIL bilinear), centre crop.
        `image_size`: the output side, instead of 224."""
        preset = dict(_CAV_MAE_PRESET)
        if image_size is not None:
            preset.update(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size})
        return cls(**{**preset, **overrides})

    @classmethod
    def for_model_config(cls, config, **overrides) -> SocialMAEVideoProcessor:
        """The preset of the model's family (one frame: CAV-MAE, else Social-MAE), sized to that model."""
        preset = cls.cav_mae if config.num_frames == 1 else cls.social_mae
        return preset(**{"num_frames": config.num_frames, "image_size": config.image_size, **overrides})

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the frames in `pixel_values`."""
        if self.do_center_crop:
            return self.crop_size.height, self.crop_size.width
        return self.size.height, self.size.width

    # -- call ----------------------------------------------------------------------------------------

    def preprocess(
        self,
        videos,
        video_metadata=None,
        video_fps=None,
        do_sample_frames: bool | None = None,
        sample_indices_fn=None,
        training: bool = False,
        generator: torch.Generator | None = None,
        return_tensors: str | None = "pt",
        device: str | torch.device | None = None,
        return_metadata: bool = False,
        return_face_crop: bool = False,
        face_detector=None,
        **settings,
    ) -> BatchFeature:
        """Prepare one video or a batch (a list) for the model.

        Args:
            videos: A media file (path or `bytes`), decoded frames `(frames, height, width, 3)` uint8 RGB (numpy
                or torch), or a list of RGB PIL images / `(height, width, 3)` arrays; or a list of such videos.
            video_metadata: transformers' `VideoMetadata` (or dict) of decoded frames, one or one per video; its
                `fps` is what sampling needs.
            video_fps: Or just the frame rate of decoded frames (one value, or one per video, None for media files).
            do_sample_frames: Override `self.do_sample_frames`; without sampling every frame given is used.
            sample_indices_fn: transformers' convention, `fn(metadata=VideoMetadata, num_frames=...)` ->
                `num_frames` frame indices; overrides `frame_sampling`.
            training: Random frame choice (Social-MAE window start, CAV-MAE slot) instead of the deterministic
                evaluation choice (centred window, middle slot).
            generator: `torch.Generator` for the random choices when `training`.
            return_tensors: `"pt"` (default) or `"np"`.
            device: Where the resize runs (default: CPU).
            return_metadata: Also return `video_metadata` (with the chosen `frames_indices`).
            return_face_crop: Also return, per clip, whether a face was found (`face_found`) and the crop of each
                frame (`face_boxes`); needs `face_crop`. Asked for, like `video_metadata`, so that the output of a
                plain call holds model inputs only (`model(**processor(...))`).
            face_detector: A detector callable, `frame (H, W, 3) uint8 RGB -> [(x, y, w, h, score), ...]`, for
                this call instead of the one `face_crop` names (not saved); needs `face_crop`.
            settings: Any setting of this processor, for this call only (e.g. `num_frames`, `face_crop`).

        Returns:
            `BatchFeature` with `pixel_values` `(batch, num_frames, 3, height, width)` float32; with
            `return_face_crop`, also `face_found` `(batch,)` bool and `face_boxes` `(batch, num_frames, 4)` int64,
            each frame's crop `(x, y, width, height)` in the source frame's pixels (the whole frame when no face
            was found).
        """
        processor = self.with_settings(**settings) if settings else self
        if processor.frame_sampling == "uniform":
            # transformers' convention: a call's `num_frames` or `fps` (not both) says how many frames to take.
            processor = copy.copy(processor)
            processor._call_sampling = {key: settings[key] for key in ("num_frames", "fps") if key in settings}
        if processor.face_crop is None and (return_face_crop or face_detector is not None):
            asked = "return_face_crop" if return_face_crop else "face_detector"
            raise ValueError(f"{asked} needs a face crop: set face_crop (e.g. face_crop=True) on the processor")
        if face_detector is not None and not callable(face_detector):
            raise ValueError(f"face_detector must be a callable, got {type(face_detector).__name__}")
        if return_tensors not in ("pt", "np", None):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        items = as_batch(videos, is_single_video, "videos")
        if items is None:
            raise InvalidInputError("give `videos` (a media file, decoded frames, or a list of them)")
        batch = len(items)
        sample = processor.do_sample_frames if do_sample_frames is None else do_sample_frames
        metadata = per_item_metadata(video_metadata, video_fps, batch)
        choice = dict(training=training, generator=generator, sample_indices_fn=sample_indices_fn)
        frames, chosen, names = [], [], [item_name(item, i, batch) for i, item in enumerate(items)]
        for item, name, meta in zip(items, names, metadata):
            fps = meta.get("fps") if meta is not None else None
            with open_media(item, name=name) if is_media_source(item) else contextlib.nullcontext() as media:
                video, sampled = processor.clip_frames(item, name, fps, sample, media=media, **choice)
            frames.append(video)
            chosen.append(meta if sampled is None else sampled)
        data = {}
        if processor.face_crop is not None:
            # Cropped in the source pixels, before any resize, colour flip or centre crop.
            if face_detector is None:
                cropper = face_cropper(processor.face_crop)  # one per settings: the detector is built once
            else:
                cropper = FaceCropper(processor.face_crop, face_detector)
            crops = [cropper.crop_clip(video, source=name) for video, name in zip(frames, names)]  # errors name it
            frames = [crop.frames for crop in crops]
            if return_face_crop:
                data["face_found"] = torch.tensor([crop.face_found for crop in crops], dtype=torch.bool)
                data["face_boxes"] = torch.tensor([crop.boxes for crop in crops], dtype=torch.int64)
        data = {"pixel_values": processor.transform(frames, device), **data}
        if return_tensors == "np":
            data = {key: value.detach().cpu().numpy() for key, value in data.items()}
        if return_metadata:
            data["video_metadata"] = chosen
        return BatchFeature(data=data, skip_tensor_conversion=["video_metadata"])

    def with_settings(self, **settings) -> SocialMAEVideoProcessor:
        """A copy with these settings changed, checked as the constructor checks them (e.g.
        `with_settings(face_crop="haar")`); this processor is left as it is."""
        unknown = sorted(set(settings) - set(self.valid_kwargs.__annotations__))
        if unknown:
            raise TypeError(f"{type(self).__name__}: unexpected argument(s) {unknown}")
        copied = copy.copy(self)
        for key, value in copied._standardize_kwargs(**settings).items():
            if key in settings or value is not None:
                setattr(copied, key, value)
        copied._validate_settings()
        return copied

    # -- frame choice --------------------------------------------------------------------------------

    def sample_frames(
        self,
        metadata: VideoMetadata,
        num_frames: int | None = None,
        fps: float | None = None,
        training: bool = False,
        generator: torch.Generator | None = None,
        **kwargs,
    ) -> np.ndarray:
        """The originals' frame indices (`frame_sampling`) for a video of `metadata.total_num_frames` frames at
        `metadata.fps`: Social-MAE's window (centred, or random when `training`) or CAV-MAE's spread slots
        (middle slot, or random ones when `training`). `num_frames` / `fps` default to this processor's."""
        if self.frame_sampling == "uniform":
            asked = {"num_frames": num_frames, "fps": fps}
            if num_frames is None and fps is None:
                asked = {"num_frames": None, "fps": None, **(getattr(self, "_call_sampling", None) or {})}
                if asked["fps"] is None and asked["num_frames"] is None:
                    asked["num_frames"] = self.num_frames
            if asked["num_frames"] is not None and asked["fps"] is not None:
                raise ValueError("`num_frames` and `fps` are mutually exclusive with frame_sampling='uniform'")
            return np.asarray(default_sample_indices_fn(metadata, **asked), dtype=np.int64)
        num_frames = self.num_frames if num_frames is None else num_frames
        fps = self.fps if fps is None else fps
        count, video_fps = metadata.total_num_frames, metadata.fps
        if video_fps is None:
            raise InvalidInputError("sampling frames needs the video's frame rate (`VideoMetadata.fps`)")
        if self.frame_sampling == "window":
            start = social_mae_window_start(
                count, video_fps, window_seconds=self.window_seconds, training=training, generator=generator
            )
            indices = social_mae_frame_indices(
                count, video_fps, start, num_frames=num_frames, sample_fps=fps, window_seconds=self.window_seconds
            )
        else:
            # num_frames slots (CAV-MAE uses one), each chosen like the original's single one.
            indices = [
                cav_mae_frame_index(
                    count,
                    video_fps,
                    cav_mae_slot(self.spread_slots, training=training, generator=generator),
                    num_slots=self.spread_slots,
                    max_seconds=self.spread_seconds,
                )
                for _ in range(num_frames)
            ]
        return np.asarray(indices, dtype=np.int64)

    def choose_frame_indices(
        self, metadata: VideoMetadata, name: str, *, training=False, generator=None, sample_indices_fn=None
    ) -> list[int]:
        """`sample_indices_fn(metadata=, num_frames=)` when given (its answer checked), else `sample_frames`."""
        if sample_indices_fn is None:
            return [int(k) for k in self.sample_frames(metadata, training=training, generator=generator)]
        count = metadata.total_num_frames
        raw = np.asarray(sample_indices_fn(metadata=metadata, num_frames=self.num_frames))
        if raw.ndim != 1 or len(raw) != self.num_frames or not np.issubdtype(raw.dtype, np.integer):
            raise InvalidInputError(
                f"{name}: sample_indices_fn must return {self.num_frames} integer indices, got {raw!r}"
            )
        if raw.min() < 0 or raw.max() >= count:
            raise InvalidInputError(f"{name}: sample_indices_fn returned indices outside [0, {count})")
        return [int(k) for k in raw]

    def validate_frames(self, video, name: str):
        """Decoded RGB frames checked (see `frame_inputs.validate_frames`), PIL ones converted with `do_convert_rgb`."""
        return validate_frames(video, name, self.do_convert_rgb)

    def transform(self, videos: list[np.ndarray], device=None) -> torch.Tensor:
        """uint8 RGB videos `(T, H, W, 3)` -> `(batch, T, 3, height, width)` float32, as the settings say."""
        return to_pixel_values(videos, self, device)

    def clip_frames(
        self,
        video,
        name: str,
        fps: float | None = None,
        do_sample_frames: bool | None = None,
        *,
        media: MediaFile | None = None,
        time_range=None,
        training=False,
        generator=None,
        sample_indices_fn=None,
    ) -> tuple[np.ndarray, VideoMetadata | None]:
        """One clip's frames, uint8 RGB `(T, H, W, 3)`, and their metadata (None when not sampled): the chosen
        frames of `media` (the opened file `video` names) or of decoded frames at `fps`, or, with
        `do_sample_frames=False`, every decoded frame given. `time_range` as in `read_media_frames`."""
        sample = self.do_sample_frames if do_sample_frames is None else do_sample_frames
        choice = dict(
            time_range=time_range, training=training, generator=generator, sample_indices_fn=sample_indices_fn
        )
        if media is not None:
            if not sample:
                raise InvalidInputError(f"{name}: a media file is always sampled; pass do_sample_frames=True")
            return self.read_media_frames(media, name, **choice)
        if sample:
            return self.sample_decoded_frames(video, fps, name, **choice)
        if time_range is not None:
            raise InvalidInputError(f"{name}: a time range needs frame sampling (do_sample_frames=True)")
        frames = self.validate_frames(video, name)
        return (frames if isinstance(frames, np.ndarray) else np.stack([np.asarray(f) for f in frames])), None

    def read_media_frames(
        self, media: MediaFile, name: str, *, time_range=None, training=False, generator=None, sample_indices_fn=None
    ) -> tuple[np.ndarray, VideoMetadata]:
        """The chosen frames of an opened media file, uint8 RGB `(num_frames, H, W, 3)`, and their metadata.

        Only those frames are decoded. `time_range` (start, end or None) in seconds: frames are chosen among
        those shown in it (frame `i` is shown at `i / fps`)."""
        info = media.video_info()
        check_frame_size(info.width, info.height, name)
        if info.num_frames <= 0:
            raise MediaDecodeError(f"{name}: the video stream has no frames")
        first, count = frames_in_range(info.num_frames, info.fps, time_range, name)
        metadata = VideoMetadata(
            total_num_frames=count,
            fps=float(info.fps),
            width=info.width,
            height=info.height,
            duration=count / float(info.fps),
            video_backend="pyav",
        )
        indices = self.choose_frame_indices(
            metadata, name, training=training, generator=generator, sample_indices_fn=sample_indices_fn
        )
        metadata.frames_indices = indices
        return media.read_frames_at([Fraction(first + k) / info.fps for k in indices], channel_order="rgb"), metadata

    def sample_decoded_frames(
        self, video, fps, name: str, *, time_range=None, training=False, generator=None, sample_indices_fn=None
    ) -> tuple[np.ndarray, VideoMetadata]:
        """The chosen frames of decoded frames at `fps`, uint8 RGB `(num_frames, H, W, 3)`, and their metadata;
        `time_range` as in `read_media_frames`."""
        frames = self.validate_frames(video, name)
        if fps is None and (self.frame_sampling != "uniform" or time_range is not None):
            raise InvalidInputError(f"{name}: decoded frames need `video_fps` (their frame rate)")
        if time_range is not None:
            first, count = frames_in_range(len(frames), Fraction(fps), time_range, name)
            frames = frames[first : first + count]
        metadata = VideoMetadata(
            total_num_frames=len(frames),
            fps=fps,
            width=frames[0].shape[1],
            height=frames[0].shape[0],
            duration=None if fps is None else len(frames) / fps,
            video_backend="array",
        )
        indices = self.choose_frame_indices(
            metadata, name, training=training, generator=generator, sample_indices_fn=sample_indices_fn
        )
        metadata.frames_indices = indices
        return np.stack([np.asarray(frames[k]) for k in indices]), metadata
