"""Feature extraction speed: our processor vs a baseline doing what the original loader does.

One process, baseline and ours timed alternately on the same files, ratios printed. Run:

    PYTHONPATH=src python benchmarks/feature_extraction.py [--repeats 3] [--workdir DIR]

Video baseline (the Social-MAE loader, with PyAV standing in for OpenCV): decode every frame of the
file in order, convert every frame to a BGR array (`cv2.VideoCapture.read` converts each frame it
returns), and for each kept frame alone: to float tensor, resize, normalise, concatenate. Both sides
use the same window (the centred one), the same decoder threading, and produce identical tensors.

Fbank: ours (`log_mel_fbank`, torch, batched) vs transformers' `ASTFeatureExtractor` numpy path
(`_extract_fbank_features`, one clip at a time), on 10 s clips.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from social_mae_hf.fbank import log_mel_fbank
from social_mae_hf.frame_sampling import social_mae_frame_indices, social_mae_window_start
from social_mae_hf.media import MediaFile
from social_mae_hf.processing_social_mae import SocialMAEProcessor
from social_mae_hf.synthetic import make_waveform, write_clip

MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def baseline_video(path: Path) -> torch.Tensor:
    """The original loader's video path, frame by frame."""
    with MediaFile(path) as media:
        info = media.video_info()  # OpenCV's fps and frame count
    fps = float(info.fps)
    start = social_mae_window_start(info.num_frames, fps)
    keep = set(social_mae_frame_indices(info.num_frames, fps, start))
    order = social_mae_frame_indices(info.num_frames, fps, start)
    kept: dict[int, torch.Tensor] = {}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            bgr = frame.to_ndarray(format="bgr24", interpolation="BICUBIC", src_colorspace="ITU601")
            if index in keep:
                x = torch.from_numpy(bgr).permute(2, 0, 1).float().div(255)
                x = F.interpolate(x[None], size=(224, 224), mode="bicubic", align_corners=False, antialias=False)
                kept[index] = ((x[0] - MEAN) / STD)[None]
    imgs = torch.Tensor()
    for index in order:
        imgs = torch.cat((imgs, kept[index]), dim=0)
    return imgs


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_video(name: str, path: Path, processor, repeats: int) -> None:
    ours_video = lambda: processor(videos=path, modalities="video")["pixel_values"][0]  # noqa: E731
    ours_both = lambda: processor(videos=path)  # noqa: E731
    base = lambda: baseline_video(path)  # noqa: E731
    ours_video(), base()  # warm up (imports, caches)
    t_base, ref = timed(base, repeats)
    t_ours, out = timed(ours_video, repeats)
    t_both, _ = timed(ours_both, repeats)
    same = torch.allclose(out, ref, atol=1e-5)
    print(
        f"{name}: baseline {1 / t_base:6.2f} clips/s | ours (video) {1 / t_ours:6.2f} clips/s | "
        f"ratio {t_base / t_ours:5.2f}x | ours (audio+video) {1 / t_both:6.2f} clips/s | same output: {same}"
    )


def bench_fbank(repeats: int) -> None:
    from transformers import ASTFeatureExtractor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ast = ASTFeatureExtractor(num_mel_bins=128, max_length=1024)
    clips = [make_waveform(10.0, kind="speech", seed=s) for s in range(16)]
    for batch in (1, 16):
        waves = clips[:batch]
        stacked = torch.from_numpy(np.stack(waves))
        ours = lambda: log_mel_fbank(stacked, max_frames=1024)  # noqa: E731, B023
        theirs = lambda: [ast._extract_fbank_features(w, 1024) for w in waves]  # noqa: E731, B023
        ours(), theirs()
        t_ours, _ = timed(ours, repeats * 3)
        t_ast, _ = timed(theirs, repeats * 3)
        print(
            f"fbank 10 s, batch {batch:2d}: AST numpy {1000 * t_ast / batch:7.2f} ms/clip | "
            f"ours {1000 * t_ours / batch:7.2f} ms/clip | ratio {t_ast / t_ours:5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (and reuse) the clips")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="smae-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clips = {
        "15 s 1280x720 30 fps": (
            workdir / "hd_15s.mp4",
            dict(duration_s=15.0, fps=30, width=1280, height=720),
        ),
        "2.5 s 480x360 30 fps (CREMA-D-like)": (
            workdir / "cremad_like.mp4",
            dict(duration_s=2.5, fps=30, width=480, height=360),
        ),
    }
    for path, spec in clips.values():
        if not path.exists():
            t = time.perf_counter()
            write_clip(path, audio="speech", **spec)
            print(f"wrote {path.name} in {time.perf_counter() - t:.1f} s")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, PyAV {av.__version__}")
    processor = SocialMAEProcessor.social_mae()
    for name, (path, _) in clips.items():
        bench_video(name, path, processor, args.repeats)
    bench_fbank(args.repeats)


if __name__ == "__main__":
    main()
