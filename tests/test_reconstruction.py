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
    _denormalize_patches,
    caption,
    reconstruct,
    render,
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
    assert "Legacy video target order" in lines[1] and "the predicted patches are not the hidden ones" in lines[1]
    strips_end = top + height + 4 + 3 * (max(64, result.spectrogram.shape[0]) + 4)
    assert (image[strips_end:, :, :] < 100).any()  # the caption is drawn under the strips
    cav_like = reconstruct(model, inputs, processor, seed=3)
    cav_like.legacy_video_target_order = False
    assert len(caption(cav_like)) == 1


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
