"""Masked reconstruction of a clip, drawn as the paper's Fig. 2: frames (original / masked input / reconstruction)
and the spectrogram (original / masked / reconstructed), one PNG, drawn with PIL.

Where the predictions go: the decoder's prediction i is scored against target patch i, and targets are patchified
in the model's target order (`config.legacy_video_target_order`; the released Social-MAE learned targets in
(time, height, width) order while its tokens are in (height, width, time) order). So predictions are put back
with `unpatchify_video` in that order, and so is the mask that says which predictions were trained. The masked
input shows what the encoder did not see: the mask in token order.

In the legacy order the two differ: the prediction made at a hidden token's place stands for another patch, so
the predicted patches are not the hidden ones (some hidden patches get no prediction, some visible ones get one).
The figure therefore draws the reconstruction rows with the predicted parts at full strength and the rest, copied
from the input, faded, and says why in a caption under the rows.

With a face-cropping processor, a first row shows the sampled frames as decoded, with the crop the model saw drawn
on them (or says that no face was found and the whole frames were used).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFont
import torch

from .batching import item_name
from .face_geometry import draw_box
from .fbank import _LOW_FREQ, _hz_to_mel
from .media import is_media_source, open_media
from .modeling_social_mae import patch_statistics
from .processing_social_mae import SocialMAEProcessor
from .time_ranges import parse_time_range

__all__ = ["Reconstruction", "check_mask_ratio", "reconstruct", "reconstruct_file", "render"]

MASKED_GREY = 0.5  # removed video patches, in display [0, 1] RGB
# Removed spectrogram patches: a neutral grey, which the colour ramp below never gives, so that a masked patch does
# not look like silence (the ramp's darkest blue) or like loud sound.
MASKED_SPECTROGRAM = (128, 128, 128)
FRAME_SHIFT_S = 0.01  # the fbank's frame shift (Kaldi's 10 ms, what both originals use)
FADE = 0.6  # share of white mixed into the parts of a reconstruction row that are the input, not a prediction
# A perceptually ordered dark-blue -> teal -> yellow ramp for spectrograms (anchors of our own choosing).
_RAMP = np.array([[20, 12, 60], [40, 80, 140], [30, 150, 140], [120, 200, 90], [250, 230, 60]], np.float32) / 255
LABEL_WIDTH = 150
CROP_COLOUR = (255, 40, 40)


@dataclass
class Reconstruction:
    """Display arrays: frames `(T, H, W, 3)` RGB in [0, 1]; spectrograms `(mel bins, time)` in fbank units, low
    frequencies first; masks 1 where removed. `predicted_frames` `(T, H, W)` is 1 where `reconstructed_frames` shows
    a prediction (the input elsewhere); for the spectrogram that is `spectrogram_mask`. `video_loss` / `audio_loss`
    are the model's reconstruction losses; `legacy_video_target_order` the model's target order; `sampling_rate` the
    audio rate the fbank was taken at (its mel bins span 20 Hz to half of it, 10 ms a frame). With a face crop:
    `face_found`, and `source_frames` `(T, H, W, 3)` uint8 RGB, the sampled frames as decoded with `face_boxes`
    `(T, 4)` (x, y, width, height in their pixels), the crops the model saw."""

    frames: np.ndarray
    masked_frames: np.ndarray
    reconstructed_frames: np.ndarray
    predicted_frames: np.ndarray
    spectrogram: np.ndarray
    spectrogram_mask: np.ndarray
    reconstructed_spectrogram: np.ndarray
    video_loss: float
    audio_loss: float
    legacy_video_target_order: bool = False
    sampling_rate: int = 16000
    face_found: bool | None = None
    source_frames: np.ndarray | None = None
    face_boxes: np.ndarray | None = None


def _to_display(pixel_values: torch.Tensor, processor: SocialMAEProcessor) -> torch.Tensor:
    """(T, C, H, W) normalised, in the video processor's channel order -> (T, H, W, 3) RGB in [0, 1]."""
    video = processor.video_processor
    x = pixel_values
    if video.do_normalize:
        mean = torch.tensor(video.image_mean)[:, None, None]
        std = torch.tensor(video.image_std)[:, None, None]
        x = x * std + mean
    if video.channel_order == "bgr":
        x = x.flip(1)  # Social-MAE saw OpenCV's BGR frames; show them as RGB
    return x.permute(0, 2, 3, 1).clamp(0, 1)


def _denormalize_patches(predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Undo `norm_pix_loss`: predictions are per-patch standardised; give them each target patch's mean and std."""
    mean, std = patch_statistics(targets)
    return predictions * std + mean


def check_mask_ratio(mask_ratio: float | None) -> None:
    """A share of patches to remove: at least 0 and below 1 (removing every patch leaves the encoder nothing)."""
    if mask_ratio is not None and not (isinstance(mask_ratio, (int, float)) and 0 <= mask_ratio < 1):
        raise ValueError(f"mask_ratio={mask_ratio}: must be at least 0 and below 1 (the share of patches removed)")


@torch.no_grad()
def reconstruct(
    model,
    inputs: dict,
    processor: SocialMAEProcessor,
    *,
    mask_ratio: float | None = None,
    seed: int = 0,
) -> Reconstruction:
    """Mask one clip (`inputs`: the processor's output, batch of 1) with seeded noise and reconstruct it.

    `model` is a `SocialMAEForPreTraining` (the decoder is needed); `mask_ratio` overrides the config's ratios for
    both modalities.
    """
    if not hasattr(model, "unpatchify_video"):
        raise ValueError(
            f"reconstruction needs a pretraining model (with its decoder), got {type(model).__name__}; "
            "fine-tuned checkpoints have no decoder"
        )
    check_mask_ratio(mask_ratio)
    config = model.config
    if config.reconstruction_loss_weight == 0:
        raise ValueError("this model's config has reconstruction_loss_weight=0: it does not run its decoder")
    audio, video = inputs.get("input_values"), inputs.get("pixel_values")
    if audio is None or video is None or audio.shape[0] != 1:
        raise ValueError("reconstruction needs one clip with both audio and video")
    generator = torch.Generator().manual_seed(seed)
    out = model.eval()(
        input_values=audio.to(model.dtype),  # the processor's float32, in the model's dtype (`--dtype`)
        pixel_values=video.to(model.dtype),
        audio_noise=torch.rand(1, config.num_audio_patches, generator=generator),
        video_noise=torch.rand(1, config.num_video_patches, generator=generator),
        audio_mask_ratio=mask_ratio,
        video_mask_ratio=mask_ratio,
    )
    video, audio = video.float(), audio.float()
    video_pred, audio_pred = out.video_logits.float(), out.audio_logits.float()
    if config.norm_pix_loss:
        video_pred = _denormalize_patches(video_pred, model.patchify_video(video))
        audio_pred = _denormalize_patches(audio_pred, model.patchify_audio(audio))

    # Video: hidden tokens (token order) for the masked input; trained predictions (target order) for the rest.
    def spread(mask: torch.Tensor, width: int) -> torch.Tensor:
        return mask.float()[..., None].expand(-1, -1, width)

    hidden = model.unpatchify_video(spread(out.video_mask, config.video_patch_dim), legacy_order=False)[0]
    trained = model.unpatchify_video(spread(out.video_mask, config.video_patch_dim))[0]
    predicted = model.unpatchify_video(video_pred)[0]
    frames = _to_display(video[0], processor)
    masked = torch.where(hidden.permute(0, 2, 3, 1) > 0, torch.tensor(MASKED_GREY), frames)
    recon = torch.where(trained.permute(0, 2, 3, 1) > 0, _to_display(predicted, processor), frames)

    # Audio: (time, mel) -> (mel, time); token and target orders are the same.
    audio_mask = model.unpatchify_audio(spread(out.audio_mask, config.audio_patch_dim))[0]
    spectrogram = audio[0]
    recon_spectrogram = torch.where(audio_mask > 0, model.unpatchify_audio(audio_pred)[0], spectrogram)
    return Reconstruction(
        frames=frames.numpy(),
        masked_frames=masked.numpy(),
        reconstructed_frames=recon.numpy(),
        predicted_frames=(trained[:, 0] > 0).numpy(),
        spectrogram=spectrogram.T.numpy(),
        spectrogram_mask=audio_mask.T.numpy(),
        reconstructed_spectrogram=recon_spectrogram.T.numpy(),
        video_loss=float(out.video_reconstruction_loss),
        audio_loss=float(out.audio_reconstruction_loss),
        legacy_video_target_order=bool(config.legacy_video_target_order),
        sampling_rate=int(processor.feature_extractor.sampling_rate),
    )


def _colorize(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """(F, T) values -> (F, T, 3) uint8 through the ramp, low frequencies at the bottom."""
    scaled = np.clip((values - low) / max(high - low, 1e-12), 0, 1) * (len(_RAMP) - 1)
    index = np.minimum(scaled.astype(int), len(_RAMP) - 2)
    frac = (scaled - index)[..., None]
    rgb = _RAMP[index] * (1 - frac) + _RAMP[index + 1] * frac
    return (rgb[::-1] * 255).round().astype(np.uint8)


def _as_uint8(values: np.ndarray) -> np.ndarray:
    return (values * 255).round().astype(np.uint8)


def _row(frames: np.ndarray) -> np.ndarray:
    return np.concatenate(list(_as_uint8(frames)), axis=1)


def fade(image: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """`image` (..., 3) uint8 with the pixels where `keep` is false mixed with white: input, not prediction."""
    faded = (image * (1 - FADE) + 255 * FADE).round().astype(np.uint8)
    return np.where(keep[..., None], image, faded)


def face_crop_note(result: Reconstruction) -> str | None:
    """What the face crop did, in words; None without a face crop."""
    if result.face_found is None:
        return None
    if result.face_found:
        return "Face crop: the model saw the boxed square of each sampled frame (first row), resized."
    return "No face found: the model saw the full frames (face crop fell back to the whole frame)."


def caption(result: Reconstruction) -> list[str]:
    """The lines under the figure: what the face crop did, how to read the reconstruction rows and the spectrogram,
    and why the legacy order moves patches."""
    note = face_crop_note(result)
    lines = [] if note is None else [note]
    lines.append(
        "Reconstruction rows: predicted patches at full strength; faded parts are the input, shown for context."
    )
    bins = result.spectrogram.shape[0]
    lines.append(
        f"Spectrogram: time in seconds across ({FRAME_SHIFT_S * 1000:g} ms frames), {bins} mel bins from "
        f"{_LOW_FREQ:g} Hz to {_hz(result.sampling_rate / 2)} up, ticks at their centre frequencies; grey patches "
        "were masked (removed from the model's input), not silent."
    )
    if result.legacy_video_target_order:
        lines.append(
            "Legacy video target order (the released Social-MAE): the prediction made at a hidden token's place "
            "(height, width, time) was trained on the patch with the same index in (time, height, width) order, so "
            "it is drawn where that patch is: the predicted patches are not the hidden ones of the masked input."
        )
    return lines


def _hz(frequency: float) -> str:
    return f"{frequency / 1000:g} kHz" if frequency >= 1000 else f"{frequency:g} Hz"


def spectrogram_ticks(result: Reconstruction, scale: float) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
    """Axis ticks of a spectrogram strip drawn at `scale` pixels per frame and per mel bin: (pixel, label) for time
    (from the strip's left edge, at frame starts) and for frequency (from its top edge, at the centre of the mel bin
    whose centre frequency is the label's; low frequencies at the bottom)."""
    bins, frames = result.spectrogram.shape
    pixels_per_second = scale / FRAME_SHIFT_S
    spacing = max(36.0, min(80.0, frames * scale / 4))  # pixels between time labels: at least two ticks
    step = next((s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60) if s * pixels_per_second >= spacing), 120)
    duration = frames * FRAME_SHIFT_S
    times = [(round(t / step) * step) for t in np.arange(0, duration + 1e-9, step)]
    x_ticks = [(t * pixels_per_second, f"{t:g} s") for t in times]
    # Kaldi's mel bins: centres evenly spaced in mel from 20 Hz to Nyquist (see `fbank.kaldi_mel_banks`).
    low, high = _hz_to_mel(_LOW_FREQ), _hz_to_mel(result.sampling_rate / 2)
    mel_step = (high - low) / (bins + 1)
    y_ticks, last = [], -math.inf
    for frequency in (16000, 8000, 4000, 2000, 1000, 500, 250, 125, 62.5):
        position = (_hz_to_mel(frequency) - low) / mel_step - 1  # in bins, 0 = the lowest bin's centre
        if not 0 <= position <= bins - 1:
            continue
        pixel = (bins - 1 - position + 0.5) * scale
        if pixel - last >= 12:  # keep labels apart on small strips
            y_ticks.append((pixel, _hz(frequency)))
            last = pixel
    return x_ticks, y_ticks


def _pieces(draw: PIL.ImageDraw.ImageDraw, word: str, font, width: int) -> list[str]:
    """A word wider than `width` (a long path) cut into pieces that fit, after a "/" where one is near the end."""
    pieces = []
    while draw.textlength(word, font=font) > width:
        fits = max(1, max(k for k in range(1, len(word) + 1) if draw.textlength(word[:k], font=font) <= width))
        slash = word.rfind("/", 0, fits)
        cut = slash + 1 if slash >= fits // 2 else fits
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word] if word else pieces


def _wrap(draw: PIL.ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in (piece for whole in text.split() for piece in _pieces(draw, whole, font, width)):
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def source_row(result: Reconstruction, height: int) -> np.ndarray:
    """The sampled frames as decoded, each scaled to `height` pixels, with the face crop's box drawn on them."""
    shown = []
    for frame, box in zip(result.source_frames, result.face_boxes):
        scale = height / frame.shape[0]
        width = max(1, round(frame.shape[1] * scale))
        small = np.asarray(PIL.Image.fromarray(frame).resize((width, height), PIL.Image.Resampling.BILINEAR))
        if result.face_found:
            small = draw_box(small, [v * scale for v in box], colour=CROP_COLOUR, thickness=max(1, height // 56))
        shown.append(small)
    return np.concatenate(shown, axis=1)


def render(result: Reconstruction, title: str = "") -> PIL.Image.Image:
    """One image: three frame rows, then three spectrogram strips (original, masked patches in grey, reconstructed)
    with time and frequency axes, then the caption; the title is wrapped to the image's width. Reconstruction rows
    show predictions at full strength and the input, where nothing was predicted, faded. With a face crop, a first
    row shows the sampled frames as decoded, the crop boxed on them.

    The spectrogram is drawn at its true aspect (one scale for frames and mel bins), as wide as the frame rows
    when that enlarges it and at one pixel per frame otherwise: CAV-MAE's single 224 px frame would squeeze its
    1024 frames eightfold."""
    recon_frames = np.concatenate(list(fade(_as_uint8(result.reconstructed_frames), result.predicted_frames)), axis=1)
    sources = []
    if result.source_frames is not None:
        label = "face crop" if result.face_found else "no face: full frame"
        sources = [(label, source_row(result, result.frames.shape[1]))]
    rows = [
        *sources,
        ("original", _row(result.frames)),
        ("masked input", _row(result.masked_frames)),
        ("reconstruction", recon_frames),
    ]
    width = recon_frames.shape[1]  # of the model's frames; the decoded frames' row may be wider
    bins, frames = result.spectrogram.shape
    scale = max(1.0, width / frames)
    strip_size = (round(frames * scale), round(bins * scale))
    low, high = np.percentile(result.spectrogram, [1, 99])
    masked = result.spectrogram_mask[::-1] > 0  # the colourised strips have low frequencies at the bottom
    masked_spec = _colorize(result.spectrogram, low, high)
    masked_spec[masked] = MASKED_SPECTROGRAM
    specs = [
        ("spectrogram", _colorize(result.spectrogram, low, high)),
        ("masked", masked_spec),
        ("reconstructed", fade(_colorize(result.reconstructed_spectrogram, low, high), masked)),
    ]
    strips = [
        (name, np.asarray(PIL.Image.fromarray(image).resize(strip_size, PIL.Image.Resampling.NEAREST)))
        for name, image in specs
    ]
    x_ticks, y_ticks = spectrogram_ticks(result, scale)
    font = PIL.ImageFont.load_default()
    measure = PIL.ImageDraw.Draw(PIL.Image.new("RGB", (1, 1)))
    widest = max(image.shape[1] for _, image in rows + strips)
    text_width = max(LABEL_WIDTH + widest - 8, 300)
    canvas_width = max(LABEL_WIDTH + widest, text_width + 8)
    notes = [line for paragraph in caption(result) for line in _wrap(measure, paragraph, font, text_width)]
    gap, line_height = 4, 14
    titles = _wrap(measure, title, font, canvas_width - 8) if title else []
    header = 10 + line_height * len(titles) if titles else 0
    axis = line_height + 6  # under the last strip: tick marks and time labels
    height = header + sum(image.shape[0] + gap for _, image in rows + strips) + axis
    height += line_height * len(notes) + gap
    canvas = PIL.Image.new("RGB", (canvas_width, height), "white")
    draw = PIL.ImageDraw.Draw(canvas)
    for k, line in enumerate(titles):
        draw.text((4, 6 + line_height * k), line, fill="black", font=font)
    y = header
    for name, image in rows + strips:
        canvas.paste(PIL.Image.fromarray(image), (LABEL_WIDTH, y))
        draw.text((4, y + image.shape[0] // 2 - 6), name, fill="black", font=font)
        if any(image is strip for _, strip in strips):
            for pixel, label in y_ticks:
                tick_y = y + pixel
                draw.line([(LABEL_WIDTH - 4, tick_y), (LABEL_WIDTH - 1, tick_y)], fill="black")
                text = draw.textlength(label, font=font)
                draw.text((LABEL_WIDTH - 6 - text, tick_y - 6), label, fill="black", font=font)
        y += image.shape[0] + gap
    axis_top = y - gap
    draw.text((4, axis_top + 4), "time", fill="black", font=font)
    for pixel, label in x_ticks:
        x = LABEL_WIDTH + pixel
        draw.line([(x, axis_top), (x, axis_top + 3)], fill="black")
        text = draw.textlength(label, font=font)
        draw.text(
            (min(max(x - text / 2, LABEL_WIDTH), canvas_width - text - 2), axis_top + 4), label, fill="black", font=font
        )
    y = axis_top + axis + gap
    for line in notes:
        draw.text((4, y), line, fill="black", font=font)
        y += line_height
    return canvas


def reconstruct_file(model, processor: SocialMAEProcessor, media, **kwargs) -> Reconstruction:
    """`reconstruct` on a media file (or the processor's other inputs), with the processor's evaluation choices.

    With a face-cropping processor, the result also holds whether a face was found, and for a media file the
    sampled frames as decoded with the crop boxes (`source_frames`, `face_boxes`), which `render` draws."""
    extract = {k: kwargs.pop(k) for k in ("start_s", "end_s", "audio_stream") if k in kwargs}
    crops = processor.video_processor.face_crop is not None
    if not is_media_source(media):
        inputs = processor(videos=media, return_face_crop=crops, **extract)
        result = reconstruct(model, inputs, processor, **kwargs)
        if crops:
            result.face_found = bool(inputs["face_found"][0])
            result.face_boxes = inputs["face_boxes"][0].numpy()
        return result
    name = item_name(media, 0, 1)
    # One opening for the processor and, with a face crop, the frames it sampled.
    with open_media(media, name=name, audio_stream=extract.pop("audio_stream", None)) as opened:
        inputs = processor(videos=opened, return_face_crop=crops, **extract)
        result = reconstruct(model, inputs, processor, **kwargs)
        if crops:
            result.face_found = bool(inputs["face_found"][0])
            result.face_boxes = inputs["face_boxes"][0].numpy()
            start_s, end_s = extract.get("start_s"), extract.get("end_s")
            time_range = None if start_s is None and end_s is None else parse_time_range(start_s, end_s, name)
            result.source_frames, _ = processor.video_processor.read_media_frames(opened, name, time_range=time_range)
    return result
