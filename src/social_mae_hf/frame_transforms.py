"""Sampled frames -> `pixel_values`, as the originals transformed them (see `video_processing_social_mae.py`): the
resize (torch `F.interpolate`, or PIL for the shorter side), the centre crop, the rescale, the colour order and the
normalisation, one frame at a time."""

from __future__ import annotations

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from transformers.image_transforms import get_resize_output_image_size
from transformers.image_utils import ChannelDimension, PILImageResampling

from .errors import InvalidInputError

__all__ = ["INTERPOLATION", "to_pixel_values"]

INTERPOLATION = {PILImageResampling.BICUBIC: "bicubic", PILImageResampling.BILINEAR: "bilinear"}


def to_pixel_values(videos: list[np.ndarray], settings, device=None) -> torch.Tensor:
    """uint8 RGB videos `(T, H, W, 3)` -> `(batch, T, 3, height, width)` float32, as `settings` (a
    `SocialMAEVideoProcessor`) say."""
    device = torch.device(device) if device is not None else torch.device("cpu")
    out = [_transform_frames(v, settings, device) for v in videos]
    lengths = sorted({len(v) for v in out})
    if len(lengths) > 1:
        raise InvalidInputError(f"the videos have different numbers of frames ({lengths}); they cannot be batched")
    return torch.stack(out)


def _transform_frames(frames: np.ndarray, settings, device: torch.device) -> torch.Tensor:
    """(T, H, W, 3) uint8 RGB -> (T, 3, H', W') float32, resized and normalised as the settings say."""
    if settings.do_resize and settings.size.shortest_edge is not None:
        frames = np.stack([_pil_shorter_side(f, settings) for f in frames])
    # One frame at a time to float and to its size: 8 frames of 4K video are 800 MB as float32.
    x = torch.cat([_float_frame(frames[k : k + 1], settings, device) for k in range(len(frames))])
    if settings.do_center_crop:
        x = _center_crop(x, settings.crop_size.height, settings.crop_size.width)
    if settings.channel_order == "bgr":
        # Every step is per channel: flipping the (smaller) resized frames gives the same values.
        x = x.flip(-3)
    if settings.do_normalize:
        mean = torch.tensor(settings.image_mean, dtype=torch.float32, device=device)[:, None, None]
        std = torch.tensor(settings.image_std, dtype=torch.float32, device=device)[:, None, None]
        x = (x - mean) / std
    return x


def _float_frame(frame: np.ndarray, settings, device: torch.device) -> torch.Tensor:
    """(1, H, W, 3) uint8 -> (1, 3, H', W') float32: rescaled, then stretched when `size` has a height."""
    x = torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(0, 3, 1, 2).to(torch.float32)
    if settings.do_rescale:
        # Divided, as ToTensor does: x * (1 / 255) differs from x / 255 in the last bit for half the values.
        x.div_(1 / settings.rescale_factor)
    if settings.do_resize and settings.size.height is not None:
        size = (settings.size.height, settings.size.width)
        if x.shape[-2:] != size:
            mode = INTERPOLATION[settings.resample]
            x = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=settings.antialias)
    return x


def _pil_shorter_side(frame: np.ndarray, settings) -> np.ndarray:
    """torchvision's Resize(shortest_edge) on a PIL image: the shorter side to `shortest_edge`, the longer one
    scaled and truncated (transformers' `get_resize_output_image_size` reproduces torchvision's rule)."""
    height, width = get_resize_output_image_size(
        frame, settings.size.shortest_edge, default_to_square=False, input_data_format=ChannelDimension.LAST
    )
    image = PIL.Image.fromarray(np.ascontiguousarray(frame))
    if (width, height) != image.size:
        image = image.resize((width, height), settings.resample)
    return np.asarray(image)


def _center_crop(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """torchvision's CenterCrop offsets (rounded) on `(T, 3, H, W)` frames at least that large."""
    h, w = frames.shape[-2:]
    if height > h or width > w:
        raise InvalidInputError(f"frames of {w}x{h} are smaller than the {width}x{height} centre crop")
    top, left = round((h - height) / 2.0), round((w - width) / 2.0)
    return frames[..., top : top + height, left : left + width]
