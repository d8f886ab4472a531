"""Peak resident memory of decoding long and large media: a 3-hour WAV and a 3 s 3840x2160 clip.

Memory must not grow with the file: the model uses 10.24 s of audio and 8 frames. Each case runs in a fresh
Python process (so that one case's peak cannot hide another's) that reports its own peak resident set
(`ru_maxrss`); the baseline is a process that only imports the package (torch, PyAV, transformers) and
builds the processor, so "over baseline" is what the case itself costs.

The files are written once into `--workdir` and streamed to disk (never held in memory whole):

    PYTHONPATH=src python benchmarks/memory.py --workdir /tmp/bench_memory

`--hours` / `--rate` size the WAV (3 h at 16 kHz mono: 346 MB of 16-bit PCM, 691 MB as float32 samples).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

CLIP_SIZE = (3840, 2160)
CLIP_SECONDS, CLIP_FPS = 3, 25


def write_long_wav(path: Path, hours: float, rate: int) -> Path:
    """Mono 16-bit WAV of speech-like noise, written 10 s at a time."""
    rng = np.random.default_rng(0)
    block = 10 * rate
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * np.arange(block) / rate)  # syllable-rate amplitude
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        for _ in range(round(hours * 3600 * rate / block)):
            samples = 3000 * envelope * rng.standard_normal(block)
            out.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return path


def write_4k_clip(path: Path) -> Path:
    """3 s of 3840x2160 H.264 at 25 fps with AAC audio, encoded one frame at a time."""
    import av

    width, height = CLIP_SIZE
    rate = 16000
    gradient = np.linspace(40, 200, width, dtype=np.float32)[None, :, None]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=CLIP_FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast"}
        audio = container.add_stream("aac", rate=rate, layout="mono")
        tone = (0.2 * np.sin(2 * np.pi * 220 * np.arange(CLIP_SECONDS * rate) / rate)).astype(np.float32)
        for start in range(0, len(tone), 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024].copy(), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
        for i in range(CLIP_SECONDS * CLIP_FPS):
            image = np.broadcast_to(gradient, (height, width, 3)).astype(np.uint8)
            x = 200 + 40 * i
            image[900:1300, x : x + 400] = (220, 170, 120)  # a moving block
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
    return path


# -- cases: each runs alone in a child process ----------------------------------------------------------------


def run_case(case: str, wav: Path, clip: Path) -> dict:
    from social_mae_hf import SocialMAEProcessor
    from social_mae_hf.media import MediaFile

    processor = SocialMAEProcessor.social_mae()
    window = processor.feature_extractor.max_audio_samples  # 164,080 samples: 1024 fbank frames
    out = None
    if case == "baseline":
        pass
    elif case == "processor(audio=3 h wav)":
        out = processor(audio=str(wav))["input_values"]
    elif case == "processor(videos=4k clip)":
        out = processor(videos=str(clip))["pixel_values"]
    elif case == "MediaFile(3 h wav).read_audio(max_samples=window)":
        with MediaFile(wav) as media:
            out = media.read_audio(16000, max_samples=window)
    elif case == "MediaFile(3 h wav).read_audio(start_s=5400, max_samples=window)":
        with MediaFile(wav) as media:
            out = media.read_audio(16000, start_s=5400, max_samples=window)
    elif case == "MediaFile(3 h wav).read_audio() (whole track)":
        with MediaFile(wav) as media:
            out = media.read_audio(16000)
    elif case == "MediaFile(4k clip).video_info()":
        with MediaFile(clip) as media:
            out = media.video_info()
    elif case == "MediaFile(4k clip).read_frames_at(8 times)":
        with MediaFile(clip) as media:
            info = media.video_info()
            # The Social-MAE evaluation window of a 3 s clip: frames 0, 12, ... 72 (a clip shorter than 4 s).
            out = media.read_frames_at([Fraction(12 * k) / info.fps for k in range(7)] + [0], channel_order="bgr")
    elif case == "MediaFile(4k clip).read_frames_at(8 times, transform=resize)":
        import torch
        import torch.nn.functional as F

        def resize(frame):  # the Social-MAE preset's transform, one frame at a time
            x = torch.from_numpy(frame).permute(2, 0, 1)[None].to(torch.float32).div_(255.0)
            return F.interpolate(x, size=(224, 224), mode="bicubic", align_corners=False, antialias=False)[0]

        with MediaFile(clip) as media:
            info = media.video_info()
            times = [Fraction(12 * k) / info.fps for k in range(7)] + [0]
            out = torch.stack(media.read_frames_at(times, channel_order="bgr", transform=resize)).numpy()
    else:
        raise ValueError(case)
    shape = list(getattr(out, "shape", ()))
    return {"shape": shape, "output_mib": getattr(out, "nbytes", 0) / 2**20}


CASES = [
    "baseline",
    "processor(audio=3 h wav)",
    "MediaFile(3 h wav).read_audio(max_samples=window)",
    "MediaFile(3 h wav).read_audio(start_s=5400, max_samples=window)",
    "MediaFile(3 h wav).read_audio() (whole track)",
    "processor(videos=4k clip)",
    "MediaFile(4k clip).video_info()",
    "MediaFile(4k clip).read_frames_at(8 times)",
    "MediaFile(4k clip).read_frames_at(8 times, transform=resize)",
]


def child(case: str, wav: Path, clip: Path) -> None:
    import social_mae_hf.media  # noqa: F401  (imports are the baseline's, not the case's time)

    start = time.perf_counter()
    result = run_case(case, wav, clip)
    result["seconds"] = time.perf_counter() - start
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_memory"))
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=16000)
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    wav = args.workdir / f"long_{args.hours:g}h_{args.rate}.wav"
    clip = args.workdir / "clip_4k.mp4"
    if args.case:
        child(args.case, wav, clip)
        return
    for path, make in ((wav, lambda p: write_long_wav(p, args.hours, args.rate)), (clip, write_4k_clip)):
        if not path.exists():
            start = time.perf_counter()
            make(path.with_suffix(".part" + path.suffix)).rename(path)
            print(f"wrote {path} ({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s")
    print(f"python {sys.version.split()[0]}; files: {wav.name}, {clip.name}\n")
    print("| case | peak RSS | over baseline | peak / baseline | output | time (after imports) |")
    print("| --- | --- | --- | --- | --- | --- |")
    baseline = None
    for case in CASES:
        command = [sys.executable, __file__, "--workdir", str(args.workdir), "--hours", str(args.hours)]
        done = subprocess.run([*command, "--rate", str(args.rate), "--case", case], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"| {case} | failed: {done.stderr.strip().splitlines()[-1]} | | | | |")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        peak = result["peak_mib"]
        baseline = peak if case == "baseline" else baseline
        over = peak - baseline
        output = f"{result['output_mib']:.1f} MiB {tuple(result['shape'])}" if result["shape"] else ""
        print(
            f"| {case} | {peak:.0f} MiB | {over:+.0f} MiB | {peak / baseline:.2f}x | {output} | "
            f"{result['seconds']:.1f} s |"
        )


if __name__ == "__main__":
    main()
