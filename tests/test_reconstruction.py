"""Masked reconstruction figures: the right pixels in each panel, predictions placed in the model's target order."""

import numpy as np
import pytest
import torch

from social_mae_hf import SocialMAEForAudioVisualClassification, SocialMAEForPreTraining, SocialMAEProcessor
from social_mae_hf.cli import main as cli_main
from social_mae_hf.reconstruction import (
    FADE,
    LABEL_WIDTH,
    MASKED_GREY,
    MASKED_SPECTROGRAM,
    _colorize,
    _denormalize_patches,
    caption,
    reconstruct,
    render,
    spectrogram_ticks,
)
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor


@pytest.fixture(scope="module")
def social(converted, media):
    folder = converted["social_mae_pretrain"]
    model = SocialMAEForPreTraining.from_pretrained(folder).eval()
    processor = SocialMAEProcessor.from_pretrained(folder)
    return model, processor, processor(videos=str(media("c25.mp4")))


def _panels_by_hand(model, inputs, seed, legacy):
    """What each panel must show, computed here from the model's own outputs."""
    config = model.config
    generator = torch.Generator().manual_seed(seed)
    noise = {
        "audio_noise": torch.rand(1, config.num_audio_patches, generator=generator),
        "video_noise": torch.rand(1, config.num_video_patches, generator=generator),
    }
    with torch.no_grad():
        out = model(**inputs, **noise)
    mask = out.video_mask[..., None].expand(-1, -1, config.video_patch_dim)
    hidden = model.unpatchify_video(mask, legacy_order=False)[0].permute(0, 2, 3, 1) > 0
    trained = model.unpatchify_video(mask, legacy_order=legacy)[0].permute(0, 2, 3, 1) > 0
    predicted = model.unpatchify_video(out.video_logits, legacy_order=legacy)[0]
    return out, hidden.numpy(), trained.numpy(), predicted


def _display(pixel_values, processor):
    """Normalised BGR (T, C, H, W) -> RGB (T, H, W, 3) in [0, 1], written out independently of the module."""
    mean = np.array(processor.video_processor.image_mean)[None, :, None, None]
    std = np.array(processor.video_processor.image_std)[None, :, None, None]
    x = pixel_values.numpy() * std + mean
    return np.clip(x[:, ::-1].transpose(0, 2, 3, 1), 0, 1)


def test_panels_of_a_social_mae_reconstruction(social, media):
    model, processor, inputs = social
    assert model.config.legacy_video_target_order  # a converted Social-MAE
    result = reconstruct(model, inputs, processor, seed=3)
    out, hidden, trained, predicted = _panels_by_hand(model, inputs, seed=3, legacy=True)

    # Original: the clip's frames, RGB, as a video processor without normalisation and in RGB gives them.
    rgb = SocialMAEVideoProcessor.social_mae(image_size=32, channel_order="rgb", do_normalize=False)(
        str(media("c25.mp4"))
    )["pixel_values"][0]
    np.testing.assert_allclose(result.frames, rgb.permute(0, 2, 3, 1).clamp(0, 1).numpy(), atol=1e-5)

    # Masked input: grey exactly where the encoder's tokens were removed (token order), the frames elsewhere.
    assert 0.5 < hidden.mean() < 0.95
    np.testing.assert_array_equal(result.masked_frames[hidden], MASKED_GREY)
    np.testing.assert_array_equal(result.masked_frames[~hidden], result.frames[~hidden])

    # Reconstruction: predictions where they were trained, placed in the legacy (time, height, width) order.
    expected = np.where(trained, _display(predicted, processor), result.frames)
    np.testing.assert_allclose(result.reconstructed_frames, expected, atol=1e-6)
    _, _, trained_new, predicted_new = _panels_by_hand(model, inputs, seed=3, legacy=False)
    wrong = np.where(trained_new, _display(predicted_new, processor), result.frames)
    assert np.abs(result.reconstructed_frames - wrong).max() > 0.1  # the order matters

    # Spectrogram: (mel, time), masked patches replaced by the prediction.
    spectrogram = inputs["input_values"][0].T.numpy()
    np.testing.assert_array_equal(result.spectrogram, spectrogram)
    mask = result.spectrogram_mask > 0
    assert 0.5 < mask.mean() < 0.95
    np.testing.assert_array_equal(result.reconstructed_spectrogram[~mask], spectrogram[~mask])
    audio = model.unpatchify_audio(out.audio_logits)[0].T.numpy()
    np.testing.assert_allclose(result.reconstructed_spectrogram[mask], audio[mask], atol=1e-6)
    assert result.video_loss == pytest.approx(out.video_reconstruction_loss.item())

    image = render(result, "title")
    frames, height, width, _ = result.frames.shape
    assert image.size[0] == LABEL_WIDTH + frames * width
    first_row = np.asarray(image)[24 : 24 + height, LABEL_WIDTH:]
    np.testing.assert_array_equal(first_row, (np.concatenate(list(result.frames), axis=1) * 255).round())


def test_legacy_order_figure_shows_what_was_predicted_where(social):
    """Converted Social-MAE: the predicted patches are not the hidden ones; the figure fades what was not predicted
    and its caption says why."""
    model, processor, inputs = social
    result = reconstruct(model, inputs, processor, seed=3)
    _, hidden, trained, _ = _panels_by_hand(model, inputs, seed=3, legacy=True)
    np.testing.assert_array_equal(result.predicted_frames, trained[..., 0])
    assert (result.predicted_frames != hidden[..., 0]).mean() > 0.1  # the legacy order moves predictions
    assert result.legacy_video_target_order

    image = np.asarray(render(result, "title")).astype(int)
    frames, height, width, _ = result.frames.shape
    top = 24 + 2 * (height + 4)  # the reconstruction row
    row = image[top : top + height, LABEL_WIDTH : LABEL_WIDTH + frames * width].reshape(height, frames, width, 3)
    row = row.transpose(1, 0, 2, 3)
    shown = (result.reconstructed_frames * 255).round()
    predicted = result.predicted_frames
    np.testing.assert_array_equal(row[predicted], shown[predicted])  # predictions at full strength
    np.testing.assert_array_equal(row[~predicted], (shown[~predicted] * (1 - FADE) + 255 * FADE).round())  # faded

    lines = caption(result)
    assert lines[0].startswith("Reconstruction rows: predicted patches at full strength; faded parts are the input")
    assert lines[1].startswith("Spectrogram: time in seconds across (10 ms frames), 128 mel bins from 20 Hz to 8 kHz")
    assert "Legacy video target order" in lines[2] and "the predicted patches are not the hidden ones" in lines[2]
    bins, spectrogram_frames = result.spectrogram.shape
    scale = frames * width / spectrogram_frames
    strips_end = top + height + 4 + 3 * (round(bins * scale) + 4) + 20  # three strips and the time axis
    assert (image[strips_end:, :, :] < 100).any()  # the caption is drawn under the strips
    cav_like = reconstruct(model, inputs, processor, seed=3)
    cav_like.legacy_video_target_order = False
    assert len(caption(cav_like)) == 2


def test_mask_ratio_and_seed(social):
    model, processor, inputs = social
    half = reconstruct(model, inputs, processor, mask_ratio=0.5, seed=0)
    assert (half.masked_frames == MASKED_GREY).all(axis=-1).mean() == pytest.approx(0.5, abs=0.01)
    again = reconstruct(model, inputs, processor, mask_ratio=0.5, seed=0)
    np.testing.assert_array_equal(half.reconstructed_frames, again.reconstructed_frames)
    other = reconstruct(model, inputs, processor, mask_ratio=0.5, seed=1)
    assert not np.array_equal(half.masked_frames, other.masked_frames)


def test_norm_pix_predictions_are_given_back_their_patch_statistics():
    targets = torch.randn(2, 5, 12) * 3 + 1
    normalised = (targets - targets.mean(-1, keepdim=True)) / (targets.var(-1, keepdim=True) + 1e-6) ** 0.5
    torch.testing.assert_close(_denormalize_patches(normalised, targets), targets)


def test_cav_mae_reconstruction_and_errors(converted, media, tmp_path):
    folder = converted["cav_mae_pretrain"]
    png = tmp_path / "cav.png"
    assert cli_main(["reconstruct", str(folder), str(media("c25.mp4")), "--output", str(png), "--seed", "2"]) == 0
    assert png.stat().st_size > 1000
    classifier = SocialMAEForAudioVisualClassification.from_pretrained(converted["cav_mae_finetune"])
    processor = SocialMAEProcessor.from_pretrained(folder)
    with pytest.raises(ValueError, match="reconstruction needs a pretraining model"):
        reconstruct(classifier, processor(videos=str(media("c25.mp4"))), processor)
    assert cli_main(["reconstruct", str(converted["cav_mae_finetune"]), str(media("c25.mp4"))]) == 2


def _strip(image: np.ndarray, top: int, size: tuple[int, int]) -> np.ndarray:
    return image[top : top + size[1], LABEL_WIDTH : LABEL_WIDTH + size[0]]


def test_spectrogram_strips_true_aspect_grey_masks_and_axes(converted, media):
    """CAV-MAE (one frame): the spectrogram keeps its aspect instead of being squeezed to the frame's width; masked
    patches are grey, a colour no spectrogram value takes (silence is the ramp's darkest blue); the ticks sit at
    the right seconds and at the mel bins of their frequencies; a long title is wrapped to the image's width."""
    folder = converted["cav_mae_pretrain"]
    model = SocialMAEForPreTraining.from_pretrained(folder).eval()
    processor = SocialMAEProcessor.from_pretrained(folder)
    result = reconstruct(model, processor(videos=str(media("c25.mp4"))), processor, seed=1)
    bins, frames = result.spectrogram.shape
    _, height, width, _ = result.frames.shape
    assert (result.frames.shape[0], width) == (1, 32) and frames > width  # the strip is wider than the frame

    title = "a long title " * 40
    image = np.asarray(render(result, title))
    titles = 1 + (image.shape[0] - np.asarray(render(result, "t")).shape[0]) // 14
    assert titles >= 3  # wrapped over several lines, none cut at the right edge
    assert (image[: 6 + 14 * titles, -3:] == 255).all()
    path = np.asarray(render(result, "/data/" + "a_long_folder_name/" * 30 + "clip.mp4: loss 1.0"))
    assert path.shape[0] > np.asarray(render(result, "t")).shape[0] + 3 * 14  # a long path is cut over lines too
    assert (path[:60, -3:] == 255).all()

    header = 10 + 14 * titles
    top = header + 3 * (height + 4)
    size = (frames, bins)  # one pixel per frame and per mel bin: the spectrogram's own aspect
    low, high = np.percentile(result.spectrogram, [1, 99])
    np.testing.assert_array_equal(_strip(image, top, size), _colorize(result.spectrogram, low, high))
    masked_strip = _strip(image, top + bins + 4, size)
    masked = result.spectrogram_mask[::-1] > 0
    assert 0.5 < masked.mean() < 0.95
    np.testing.assert_array_equal(masked_strip[masked], np.broadcast_to(MASKED_SPECTROGRAM, masked_strip[masked].shape))
    np.testing.assert_array_equal(masked_strip[~masked], _colorize(result.spectrogram, low, high)[~masked])
    ramp = _colorize(np.linspace(low - 1, high + 1, 4096)[None, :], low, high)[0]
    assert np.abs(ramp.astype(int) - MASKED_SPECTROGRAM).sum(axis=-1).min() > 60  # grey is not on the ramp
    silence = _colorize(np.full((1, 1), result.spectrogram.min()), low, high)[0, 0]
    assert np.abs(silence.astype(int) - MASKED_SPECTROGRAM).sum() > 100

    x_ticks, y_ticks = spectrogram_ticks(result, 1.0)
    assert x_ticks[0] == (0.0, "0 s") and len(x_ticks) >= 2  # 0.64 s: ticks every 0.5 s at 100 px a second
    assert all(pixel == pytest.approx(float(label.removesuffix(" s")) * 100) for pixel, label in x_ticks)
    assert x_ticks[-1][0] <= frames and frames - x_ticks[-1][0] < x_ticks[1][0]  # up to the strip's end
    # Kaldi's mel scale over 20 Hz - 8 kHz, 128 bins: 1 kHz is the centre of bin 1127 ln(1 + 1000/700) ...
    mel = lambda f: 1127 * np.log(1 + f / 700)  # noqa: E731
    step = (mel(8000) - mel(20)) / (bins + 1)
    ticks = dict((label, pixel) for pixel, label in y_ticks)
    assert set(ticks) >= {"4 kHz", "1 kHz", "250 Hz"} and "8 kHz" not in ticks  # 8 kHz lies above the top bin
    one_khz_bin = (mel(1000) - mel(20)) / step - 1
    assert ticks["1 kHz"] == pytest.approx(bins - 1 - one_khz_bin + 0.5)
    assert 40 < one_khz_bin < 50  # ... about a third of the way up
    double = dict((label, pixel) for pixel, label in spectrogram_ticks(result, 2.0)[1])
    assert double["1 kHz"] == pytest.approx(2 * ticks["1 kHz"])
