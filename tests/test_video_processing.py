"""SocialMAEVideoProcessor: the originals' frame choice (Social-MAE window, CAV-MAE spread) and transforms (stretch
resize, PIL shorter side and centre crop, BGR), decoded-frame inputs, and transformers' video processor conventions."""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np
import PIL.Image
import pytest
import torch
import torch.nn.functional as F

from social_mae_hf.errors import InvalidInputError
from social_mae_hf.frame_sampling import cav_mae_frame_index, social_mae_frame_indices
from social_mae_hf.media import MediaFile
from social_mae_hf.processing_social_mae import SocialMAEProcessor
from social_mae_hf.video_processing_social_mae import SocialMAEVideoProcessor


@pytest.fixture(scope="module")
def smae():
    return SocialMAEProcessor.social_mae()


@pytest.fixture(scope="module")
def cav():
    return SocialMAEProcessor.cav_mae()


MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]


STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def original_social_mae_indices(length: int, fps: float, start: int) -> list[int]:
    """The Social-MAE loader's formula, restated: interval, window, first 8, tiling of short clips."""
    interval = int(fps // 2)
    keep_n = 4 * fps
    if length < keep_n:
        start, keep_n = 0, length
    keep = list(np.arange(start, start + keep_n, interval)[:8])
    if length < 4 * fps:
        keep = (keep * (8 // len(keep) + 1))[:8]
    return [int(k) for k in keep]


def reference_social_mae_frames(bgr: np.ndarray) -> torch.Tensor:
    """ToTensor -> Resize((224, 224), BICUBIC, antialias=None: False for tensors) -> Normalize, per frame."""
    out = []
    for frame in bgr:
        x = torch.from_numpy(frame.copy()).permute(2, 0, 1).float().div(255)
        x = F.interpolate(x[None], size=(224, 224), mode="bicubic", align_corners=False, antialias=False)[0]
        out.append((x - MEAN) / STD)
    return torch.stack(out)


def decode_all_bgr(path) -> np.ndarray:
    """Every frame in decoding order, as the original's cv2 loop reads them."""
    with MediaFile(path) as m:
        info = m.video_info()
        return m.read_frames_at([Fraction(i) / info.fps for i in range(len(m.frame_times()))], "bgr")


@pytest.mark.parametrize(
    "video",
    [
        np.zeros((20, 50, 70, 3), np.uint8),
        torch.zeros(20, 50, 70, 3, dtype=torch.uint8),
        [PIL.Image.new("RGB", (70, 50)) for _ in range(20)],
        [np.zeros((50, 70, 3), np.uint8) for _ in range(20)],
    ],
    ids=["numpy", "torch", "pil-list", "frame-list"],
)
def test_decoded_video_kinds(smae, cav, video):
    for fe, frames in ((smae, 8), (cav, 1)):
        out = fe(videos=video, video_fps=10)
        assert set(out) == {"pixel_values"} and out["pixel_values"].shape == (1, frames, 3, 224, 224)


@pytest.mark.parametrize("fps", [25, 30, 24, 29.97, 15])
def test_social_mae_indices_equal_the_original_formula(fps):
    length = int(10 * fps)
    for start in (0, 1, 17, int(length - 4 * fps)):
        assert social_mae_frame_indices(length, fps, start) == original_social_mae_indices(length, fps, start)
    assert social_mae_frame_indices(250, 25, 10) == [10, 22, 34, 46, 58, 70, 82, 94]
    assert social_mae_frame_indices(300, 30, 10) == [10, 25, 40, 55, 70, 85, 100, 115]


@pytest.mark.parametrize("name,fps,start", [("c25.mp4", 25, 25), ("c30.mp4", 30, 30)])
def test_social_mae_frames_are_the_originals_frames(smae, media, name, fps, start):
    # 6 s clips: evaluation centres the window, start = (count - 4 * fps) // 2.
    bgr = decode_all_bgr(media(name))
    indices = original_social_mae_indices(len(bgr), fps, start)
    expected = reference_social_mae_frames(bgr[indices])
    out = smae(videos=media(name), modalities="video")["pixel_values"][0]
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_short_clip_reads_from_zero_and_tiles(smae, media):
    bgr = decode_all_bgr(media("short.mp4"))  # 2 s at 25 fps: 50 < 100 frames
    indices = original_social_mae_indices(len(bgr), 25, start=999)
    assert indices == [0, 12, 24, 36, 48, 0, 12, 24]
    out = smae(videos=media("short.mp4"), modalities="video")["pixel_values"][0]
    torch.testing.assert_close(out, reference_social_mae_frames(bgr[indices]), atol=1e-5, rtol=0)


def test_window_centred_at_eval_random_but_reproducible_in_training(smae, media):
    path = media("c25.mp4")
    calls = {}

    def recorder(**kwargs):
        metadata = kwargs["metadata"]
        calls["meta"] = metadata
        return np.arange(8)

    smae(videos=path, modalities="video", sample_indices_fn=recorder)
    assert calls["meta"].total_num_frames == 150 and calls["meta"].fps == 25

    eval_a = smae(videos=path, modalities="video")["pixel_values"]
    eval_b = smae(videos=path, modalities="video")["pixel_values"]
    torch.testing.assert_close(eval_a, eval_b, atol=0, rtol=0)

    def train(seed):
        g = torch.Generator().manual_seed(seed)
        return smae(videos=path, modalities="video", training=True, generator=g)["pixel_values"]

    torch.testing.assert_close(train(3), train(3), atol=0, rtol=0)
    draws = [train(seed) for seed in range(4)]
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
    # Every random window is one the original could draw: start in [0, 150 - 100].
    bgr = decode_all_bgr(path)
    g = torch.Generator().manual_seed(11)
    start = int(torch.randint(0, 51, (1,), generator=torch.Generator().manual_seed(11)).item())
    out = smae(videos=path, modalities="video", training=True, generator=g)["pixel_values"][0]
    expected = reference_social_mae_frames(bgr[original_social_mae_indices(150, 25, start)])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_sample_indices_fn_overrides_the_preset(smae, media):
    bgr = decode_all_bgr(media("c25.mp4"))
    out = smae(
        videos=media("c25.mp4"),
        modalities="video",
        sample_indices_fn=lambda metadata, num_frames: np.arange(num_frames) * 3,
    )["pixel_values"][0]
    torch.testing.assert_close(out, reference_social_mae_frames(bgr[np.arange(8) * 3]), atol=1e-5, rtol=0)
    with pytest.raises(InvalidInputError, match="must return 8 integer indices"):
        smae(videos=media("c25.mp4"), modalities="video", sample_indices_fn=lambda **_: [0, 1])
    with pytest.raises(InvalidInputError, match="outside"):
        smae(videos=media("c25.mp4"), modalities="video", sample_indices_fn=lambda **_: np.arange(8) + 500)


def test_decoded_frames_use_the_same_indices(smae):
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (150, 36, 52, 3), dtype=np.uint8)  # RGB
    out = smae(videos=video, video_fps=25)["pixel_values"][0]
    expected = reference_social_mae_frames(video[original_social_mae_indices(150, 25, 25)][..., ::-1])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_bgr_is_a_channel_flip_of_rgb(media):
    bgr = SocialMAEVideoProcessor.social_mae(do_normalize=False)
    rgb = SocialMAEVideoProcessor.social_mae(do_normalize=False, channel_order="rgb")
    a = bgr(media("c25.mp4"))["pixel_values"]
    b = rgb(media("c25.mp4"))["pixel_values"]
    # Different inputs to the resize (the channel planes swapped): equal up to float32 rounding.
    torch.testing.assert_close(a, b.flip(2), atol=1e-5, rtol=1e-5)
    assert (a - b).abs().max() > 0.1


@pytest.mark.parametrize("antialias", [False, True])
def test_stretch_resize_is_float_bicubic_interpolate(antialias):
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)  # odd sizes must work
    fe = SocialMAEVideoProcessor.social_mae(num_frames=1, antialias=antialias)
    out = fe(frame[None], video_fps=1)["pixel_values"][0, 0]
    x = torch.from_numpy(frame[..., ::-1].copy()).permute(2, 0, 1).float() / 255
    x = F.interpolate(x[None], size=(224, 224), mode="bicubic", align_corners=False, antialias=antialias)[0]
    torch.testing.assert_close(out, (x - MEAN) / STD, atol=1e-6, rtol=0)
    assert out.max() > (1 - 0.406) / 0.225 or out.min() < -0.485 / 0.229 or antialias  # no clamping


@pytest.mark.parametrize("size", [(240, 320), (321, 241), (224, 300)])
def test_cav_mae_matches_pil_resize_and_centre_crop(cav, size):
    h, w = size
    frame = np.random.default_rng(2).integers(0, 256, (h, w, 3), dtype=np.uint8)
    out = cav(videos=frame[None], video_fps=1)["pixel_values"][0, 0]
    image = PIL.Image.fromarray(frame)
    short, long = min(w, h), max(w, h)
    new = (224, int(224 * long / short)) if w <= h else (int(224 * long / short), 224)
    image = image.resize(new, PIL.Image.Resampling.BILINEAR) if new != (w, h) else image
    left, top = round((new[0] - 224) / 2), round((new[1] - 224) / 2)
    ref = torch.from_numpy(np.asarray(image.crop((left, top, left + 224, top + 224))).copy())
    ref = (ref.permute(2, 0, 1).float() / 255 - MEAN) / STD
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=0)


def test_cav_mae_frame_choice(cav, media):
    assert cav_mae_frame_index(250, 25, 5) == 124  # 10 s at 25 fps: frame_5 is frame 124 (off by one)
    assert cav_mae_frame_index(1000, 25, 5) == 124  # only the first 10 s count
    assert cav_mae_frame_index(75, 30, 5) == 36
    assert cav_mae_frame_index(75, 30, 0) == 0
    # End to end on a 6 s clip: 150 frames, slot 5 -> int(5 * 15.0) - 1 = 74.
    rgb = decode_all_bgr(media("c25.mp4"))[..., ::-1]
    out = cav(videos=media("c25.mp4"), modalities="video")["pixel_values"]
    ref = cav(videos=rgb[74:75].copy(), video_fps=25, sample_indices_fn=lambda **_: np.array([0]))
    torch.testing.assert_close(out, ref["pixel_values"], atol=0, rtol=0)
    slots = set()
    for seed in range(12):
        g = torch.Generator().manual_seed(seed)
        px = cav(videos=rgb.copy(), video_fps=25, training=True, generator=g)["pixel_values"]
        slots.add(px.sum().item())
    assert len(slots) > 3  # random slots in training


def test_odd_sized_video_file_works(smae, media):
    out = smae(videos=media("odd.mp4"))
    assert out["pixel_values"].shape == (1, 8, 3, 224, 224)


def test_one_by_one_video_file_is_rejected(smae, tmp_path):
    import av

    path = tmp_path / "tiny.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1, 1, "yuv444p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidInputError, match=re.escape("tiny.mp4): frames are 1x1")):
        smae(videos=path, modalities="video")


def test_video_processor_alone_follows_transformers_conventions(smae, media):
    """Decoded frames with `video_metadata` (or `video_fps`), `sample_frames` as `sample_indices_fn`, media paths,
    `return_metadata` with the chosen `frames_indices`, and per-call settings."""
    from transformers.video_utils import VideoMetadata

    processor = SocialMAEVideoProcessor.social_mae()
    frames = np.random.default_rng(0).integers(0, 256, (150, 36, 52, 3), dtype=np.uint8)
    by_fps = processor(frames, video_fps=25)
    by_metadata = processor(frames, video_metadata={"fps": 25, "total_num_frames": 150}, return_metadata=True)
    torch.testing.assert_close(by_fps["pixel_values"], by_metadata["pixel_values"], atol=0, rtol=0)
    torch.testing.assert_close(
        by_fps["pixel_values"], smae(videos=frames, video_fps=25)["pixel_values"], atol=0, rtol=0
    )
    assert by_metadata["video_metadata"][0].frames_indices == original_social_mae_indices(150, 25, 25)
    indices = processor.sample_frames(VideoMetadata(total_num_frames=150, fps=25.0))
    assert indices.tolist() == original_social_mae_indices(150, 25, 25)
    # Already chosen frames go through as they are.
    chosen = processor(frames[indices], do_sample_frames=False)["pixel_values"]
    torch.testing.assert_close(chosen, by_fps["pixel_values"], atol=0, rtol=0)
    # A media path is decoded and sampled as the processor does it; settings can change per call.
    from_path = processor(str(media("c25.mp4")), num_frames=4)["pixel_values"]
    assert from_path.shape == (1, 4, 3, 224, 224)
    full = smae(videos=media("c25.mp4"), modalities="video")["pixel_values"]
    torch.testing.assert_close(from_path[0], full[0, :4], atol=0, rtol=0)
    with pytest.raises(InvalidInputError, match="need `video_fps`"):
        processor(frames)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['colour'\]"):
        processor(frames, video_fps=25, colour="red")
    with pytest.raises(ValueError, match="return_tensors must be 'pt' or 'np'"):  # refused before any decoding
        processor(str(media("c25.mp4")) + ".missing", return_tensors="tf")
    with pytest.raises(InvalidInputError, match=r"^give `videos`"):  # as the feature extractor refuses no audio
        processor(None)


def test_frames_are_resized_one_at_a_time(monkeypatch, smae, media):
    """Memory: each frame goes to float32 and to its size alone (8 frames of 4K video are 800 MB as float32)."""
    resized = []
    interpolate = F.interpolate

    def recording(x, **kwargs):
        resized.append(tuple(x.shape))
        return interpolate(x, **kwargs)

    monkeypatch.setattr(F, "interpolate", recording)
    out = smae(videos=media("odd.mp4"), modalities="video")["pixel_values"]
    assert out.shape == (1, 8, 3, 224, 224)
    assert resized == [(1, 3, 241, 321)] * 8
