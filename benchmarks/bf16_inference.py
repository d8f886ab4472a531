"""bfloat16 inference: speed of a full-size multimodal forward, and agreement with float32 on real clips.

Speed (full-size fine-tuned Social-MAE, 768 wide, 11+1 layers, 1024 audio frames, 8 frames of 224 px, random
weights: no fine-tuned full-size weights can be had offline). Rows:

- baseline: a stand-in for the original code in float32: our model with eager attention (explicit scores and
  softmax, as timm 0.4.5) and the originals' convolution patch embeddings, whose `.transpose(1, 2)` leaves the
  tokens strided through every modality layer;
- ours, float32 and bfloat16 (`model.to(torch.bfloat16)`, what `--dtype bfloat16` on the command line does), sdpa;
- with `--before`, ours with the convolution patch embeddings (the code before this benchmark's changes).

FLOPs are counted analytically (every matmul: patch embeddings, qkv, scores, weighted sums, projections, MLPs,
head). Each row is paired with the machine's matmul rate measured just before it in the same process, in that
row's dtype, on the same shapes (every GEMM of the forward, each run once and weighted by its count, as
`torch.matmul` without bias): the ratio "of matmul" is the forward's FLOP/s over that rate. The 2048^3 square
matmul rate is printed too. Rows alternate; medians over `--repeats` rounds.

Agreement: float32 against bfloat16 logits on clips made of real photographs (the people of
benchmarks/face_real.py: scikit-image's astronaut and cameraman, matplotlib's Grace Hopper, insightface's t1 and
Tom Hanks, opencv-doc's Messi) panned across the frame, with real speech: the nine voice recordings Debian's
alsa-utils ships in /usr/share/sounds/alsa ("Front center", ...; "Noise" is left out) and CMU ARCTIC's
arctic_a0007 shipped in pysptk's source distribution (example_audio_data). Models: the tiny reference fixtures
(tests/fixtures/reference, the originals' code run on random tiny weights, converted), and the full-size random
model. `--fetch` unpacks the photographs and recordings from the registry packages once (pip download,
apt-get download); nothing is downloaded otherwise.

    PYTHONPATH=src python benchmarks/bf16_inference.py --fetch --data /tmp/bf16_data
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from social_mae_hf import SocialMAEConfig, SocialMAEForAudioVisualClassification, SocialMAEProcessor

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "tests" / "fixtures" / "reference"
TINY_HEADS = ["--num-attention-heads", "4", "--decoder-num-attention-heads", "4"]

# People (photograph, centre of the face as a share of its width and height: where the pan is aimed).
PEOPLE = {
    "astronaut.png": (0.44, 0.22),
    "camera.png": (0.45, 0.2),
    "grace_hopper.jpg": (0.5, 0.38),
    "t1.jpg": (0.35, 0.4),
    "Tom_Hanks_54745.png": (0.5, 0.5),
    "messi5.jpg": (0.6, 0.35),
}
ALSA_VOICES = [
    "Front_Center",
    "Front_Left",
    "Front_Right",
    "Rear_Center",
    "Rear_Left",
    "Rear_Right",
    "Side_Left",
    "Side_Right",
]
ARCTIC = "arctic_a0007.wav"


# -- FLOPs and the matmul rate --------------------------------------------------------------------------------


def gemms(config: SocialMAEConfig, batch: int) -> list[tuple[tuple[int, ...], tuple[int, ...], int]]:
    """Every matmul of a multimodal forward: (left shape, right shape, how many times)."""
    d, i, heads = config.hidden_size, config.intermediate_size, config.num_attention_heads
    na, nv = config.num_audio_patches, config.num_video_patches
    shapes = [((batch * na, config.audio_patch_dim), (config.audio_patch_dim, d), 1)]
    shapes.append(((batch * nv, config.video_patch_dim), (config.video_patch_dim, d), 1))
    for tokens, count in ((na, config.num_modality_layers), (nv, config.num_modality_layers), (na + nv, 1)):
        m, hd = batch * tokens, d // heads
        shapes += [((m, d), (d, 3 * d), count), ((m, d), (d, d), count), ((m, d), (d, i), count)]
        shapes += [((m, i), (i, d), count)]
        shapes += [((batch * heads, tokens, hd), (batch * heads, hd, tokens), count)]  # scores
        shapes += [((batch * heads, tokens, tokens), (batch * heads, tokens, hd), count)]  # weighted sums
    shapes.append(((batch, d), (d, config.num_labels), 1))
    return shapes


def flops(shapes) -> int:
    return sum(2 * int(np.prod(a)) * b[-1] * count for a, b, count in shapes)


def clock() -> float:
    """The clock the rates are taken on: CPU seconds of this process with one thread (`--threads 1`, the default),
    which time taken by other programs on a shared machine does not inflate; wall seconds otherwise."""
    return time.process_time() if torch.get_num_threads() == 1 else time.perf_counter()


def gemm_rate(shapes, dtype: torch.dtype) -> float:
    """FLOP/s of `torch.matmul` on the forward's own shapes: each run (best of 3), weighted by its count."""
    seconds = 0.0
    for a_shape, b_shape, count in shapes:
        a, b = torch.randn(a_shape, dtype=dtype), torch.randn(b_shape, dtype=dtype)
        torch.matmul(a, b)
        best = float("inf")
        for _ in range(3):
            start = clock()
            torch.matmul(a, b)
            best = min(best, clock() - start)
        seconds += best * count
    return flops(shapes) / seconds


def square_rate(dtype: torch.dtype, seconds: float = 1.0, n: int = 2048) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = clock()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (clock() - start))
    return best


# -- models ---------------------------------------------------------------------------------------------------


def convolution_patch_embeddings(model) -> None:
    """Put back convolutions with strided `(B, N, D)` outputs, as the originals' (timm's) PatchEmbed has them."""
    embeddings = model.social_mae.embeddings
    audio, video = embeddings.audio_patch_embeddings, embeddings.video_patch_embeddings

    def audio_forward(input_values):
        conv = audio.projection
        image = input_values.to(conv.weight.dtype).unsqueeze(1).transpose(2, 3)
        return torch.nn.functional.conv2d(image, conv.weight, conv.bias, stride=conv.stride).flatten(2).transpose(1, 2)

    def video_forward(pixel_values):
        conv = video.projection
        clip = pixel_values.to(conv.weight.dtype).permute(0, 2, 3, 4, 1)
        return torch.nn.functional.conv3d(clip, conv.weight, conv.bias, stride=conv.stride).flatten(2).transpose(1, 2)

    audio.forward, video.forward = audio_forward, video_forward


def full_size(attention: str, dtype: torch.dtype, convolutions: bool = False):
    torch.manual_seed(0)
    config = SocialMAEConfig.social_mae(num_labels=6, attn_implementation=attention)
    model = SocialMAEForAudioVisualClassification(config).eval().to(dtype)
    if convolutions:
        convolution_patch_embeddings(model)
    return model


# -- speed ----------------------------------------------------------------------------------------------------


def speed(batch: int, repeats: int, before: bool) -> None:
    config = SocialMAEConfig.social_mae(num_labels=6)
    shapes = gemms(config, batch)
    total = flops(shapes)
    rows = {
        "baseline: float32, eager, conv embeddings": ("eager", torch.float32, True),
        "ours: float32, sdpa": ("sdpa", torch.float32, False),
        "ours: bfloat16, sdpa": ("sdpa", torch.bfloat16, False),
    }
    if before:
        rows["before: float32, sdpa, conv embeddings"] = ("sdpa", torch.float32, True)
        rows["before: bfloat16, sdpa, conv embeddings"] = ("sdpa", torch.bfloat16, True)
    seconds_kind = "CPU seconds" if torch.get_num_threads() == 1 else "wall seconds"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), times in {seconds_kind}; full-size Social-MAE fine-tuning model "
        f"(random weights), multimodal forward, batch {batch}: {total / batch / 1e9:.1f} GFLOP per clip"
    )
    for dtype in (torch.float32, torch.bfloat16):
        print(f"  square matmul 2048^3, {str(dtype)[6:]}: {square_rate(dtype) / 1e9:.0f} GFLOP/s")
    torch.manual_seed(1)
    inputs = {
        "input_values": torch.randn(batch, config.audio_length, config.num_mel_bins),
        "pixel_values": torch.randn(batch, config.num_frames, 3, config.image_size, config.image_size),
    }
    models = {name: full_size(*spec) for name, spec in rows.items()}
    seconds = {name: [] for name in rows}
    ratios = {name: [] for name in rows}
    rates = {name: [] for name in rows}
    with torch.inference_mode():
        for model in models.values():
            model(**inputs)  # warm-up
        for _ in range(repeats):
            for name, model in models.items():
                rate = gemm_rate(shapes, rows[name][1])
                start = clock()
                model(**inputs)
                seconds[name].append(clock() - start)
                rates[name].append(rate)
                ratios[name].append(total / seconds[name][-1] / rate)
    base = "baseline: float32, eager, conv embeddings"
    print("\n| row | s / batch | GFLOP/s | same-shape matmul GFLOP/s | of matmul | speed-up over baseline |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in rows:
        median = statistics.median(seconds[name])
        speedups = [b / s for b, s in zip(seconds[base], seconds[name])]
        print(
            f"| {name} | {median:.2f} | {total / median / 1e9:.0f} | {statistics.median(rates[name]) / 1e9:.0f} | "
            f"{statistics.median(ratios[name]):.1%} | {statistics.median(speedups):.2f}x |"
        )
    bf16 = [f / b for f, b in zip(seconds["ours: float32, sdpa"], seconds["ours: bfloat16, sdpa"])]
    print(
        f"bfloat16 over float32 (ours): {statistics.median(bf16):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in bf16)})"
    )


# -- real clips -----------------------------------------------------------------------------------------------


def fetch(data: Path) -> None:
    """Photographs (benchmarks/face_real.py's sources) and speech recordings, unpacked from registry packages."""
    sys.path.insert(0, str(HERE))
    import face_real

    face_real.fetch(data / "photos")
    speech = data / "speech"
    speech.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not all((speech / f"{name}.wav").exists() for name in ALSA_VOICES):
            subprocess.run(["apt-get", "download", "-q", "alsa-utils"], check=True, cwd=tmp)
            deb = next(Path(tmp).glob("alsa-utils_*.deb"))
            tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
            with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
                for name in ALSA_VOICES:
                    member = archive.extractfile(f"./usr/share/sounds/alsa/{name}.wav")
                    (speech / f"{name}.wav").write_bytes(member.read())
        if not (speech / ARCTIC).exists():
            # pysptk 1.0.1 has no wheels: pip gets its source distribution, which holds the recording.
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "pysptk==1.0.1", "-d", tmp]
            subprocess.run(cmd, check=True)
            with tarfile.open(next(Path(tmp).glob("pysptk-*.tar.gz"))) as archive:
                member = archive.extractfile(f"pysptk-1.0.1/pysptk/example_audio_data/{ARCTIC}")
                (speech / ARCTIC).write_bytes(member.read())


def panned_frames(photo: Path, centre: tuple[float, float], frames: int = 75, side: int = 256) -> np.ndarray:
    """A 3 s, 25 fps camera pan across the photograph towards the face: (frames, side, side, 3) uint8 RGB."""
    image = PIL.Image.open(photo).convert("RGB")
    scale = max(1.0, 1.6 * side / min(image.size))
    image = image.resize((round(image.width * scale), round(image.height * scale)), PIL.Image.Resampling.BICUBIC)
    window = min(image.size[0], image.size[1], round(1.4 * side))
    cx, cy = centre[0] * image.width, centre[1] * image.height
    out = []
    for k in range(frames):
        shift = (k / (frames - 1) - 0.5) * 0.3 * window
        left = int(np.clip(cx + shift - window / 2, 0, image.width - window))
        top = int(np.clip(cy - window / 2, 0, image.height - window))
        crop = image.crop((left, top, left + window, top + window)).resize((side, side), PIL.Image.Resampling.BILINEAR)
        out.append(np.asarray(crop))
    return np.stack(out)


def real_clips(data: Path) -> list[tuple[str, np.ndarray, Path]]:
    """Each photograph with two of the recordings, in turn: (name, frames, wav)."""
    voices = [data / "speech" / f"{name}.wav" for name in ALSA_VOICES] + [data / "speech" / ARCTIC]
    missing = [p for p in voices + [data / "photos" / name for name in PEOPLE] if not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(map(str, missing[:3]))}...: run with --fetch once")
    clips = []
    for k, (photo, centre) in enumerate(PEOPLE.items()):
        frames = panned_frames(data / "photos" / photo, centre)
        for voice in (voices[(2 * k) % len(voices)], voices[(2 * k + 1) % len(voices)]):
            clips.append((f"{Path(photo).stem} + {voice.stem}", frames, voice))
    return clips


def agreement(model, processor, clips, batch: int = 4) -> dict[str, float]:
    """float32 against bfloat16 logits (and pooled outputs) of the same model over the clips."""
    bf16 = type(model)(model.config).eval()
    bf16.load_state_dict(model.state_dict())
    bf16 = bf16.to(torch.bfloat16)
    logits32, logits16 = [], []
    for start in range(0, len(clips), batch):
        part = clips[start : start + batch]
        inputs = processor(
            videos=[frames for _, frames, _ in part], audio=[str(wav) for _, _, wav in part], video_fps=25.0
        )
        with torch.inference_mode():
            logits32.append(model(input_values=inputs["input_values"], pixel_values=inputs["pixel_values"]).logits)
            logits16.append(bf16(input_values=inputs["input_values"], pixel_values=inputs["pixel_values"]).logits)
    a, b = torch.cat(logits32), torch.cat(logits16).float()
    return {
        "clips": len(a),
        "max |logit|": a.abs().max().item(),
        "max |difference|": (a - b).abs().max().item(),
        "top-1 agreement": (a.argmax(-1) == b.argmax(-1)).float().mean().item(),
        "top-1 margin, smallest": (a.topk(2).values[:, 0] - a.topk(2).values[:, 1]).min().item(),
    }


def convert_fixture(name: str, folder: Path) -> Path:
    from social_mae_hf.cli import main as cli_main

    target = folder / name
    if not (target / "config.json").exists():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli_main(["convert", str(REFERENCE / f"{name}_tiny.pth"), str(target), *TINY_HEADS])
        assert code == 0, f"converting {name} failed"
    return target


def real_agreement(data: Path) -> None:
    from transformers.utils import logging

    logging.disable_progress_bar()
    clips = real_clips(data)
    print(f"\nAgreement, float32 vs bfloat16 logits, {len(clips)} real clips (photograph pans + speech recordings):")
    print("| model | clips | max abs logit (fp32) | max abs difference | top-1 agreement | smallest top-1 margin |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        for name in ("social_mae_finetune", "cav_mae_finetune"):
            folder = convert_fixture(name, Path(tmp))
            model = SocialMAEForAudioVisualClassification.from_pretrained(folder).eval()
            cases.append((f"tiny reference fixture {name}", model, SocialMAEProcessor.from_pretrained(folder)))
        cases.append(("full-size Social-MAE, random weights", full_size("sdpa", torch.float32), None))
        for label, model, processor in cases:
            processor = processor or SocialMAEProcessor.social_mae()
            r = agreement(model, processor, clips)
            print(
                f"| {label} | {r['clips']} | {r['max |logit|']:.3f} | {r['max |difference|']:.4f} | "
                f"{r['top-1 agreement']:.0%} | {r['top-1 margin, smallest']:.4f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", action="store_true", help="also time the convolution patch embeddings")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: rates in CPU time, steady on a shared machine)",
    )
    parser.add_argument("--data", type=Path, default=Path("/tmp/social_mae_bf16_data"))
    parser.add_argument("--fetch", action="store_true", help="unpack photographs and recordings into --data")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-agreement", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fetch:
        fetch(args.data)
    if not args.skip_speed:
        speed(args.batch_size, args.repeats, args.before)
    if not args.skip_agreement:
        real_agreement(args.data)


if __name__ == "__main__":
    main()
