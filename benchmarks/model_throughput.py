"""Full-size Social-MAE on this machine: encoder forward (eager vs sdpa), a pretraining step, peak memory.

Throughput is reported as achieved FLOP/s over the machine's own float32 matmul FLOP/s. Each timed run is paired
with a matmul measurement taken right before it, in the same process, and the ratio is formed per pair; the
median over pairs is reported (this machine's speed drifts with load from elsewhere, a ratio of neighbours
does not).

    python benchmarks/model_throughput.py               # everything, ~5 minutes on 2 cores
    python benchmarks/model_throughput.py --quick       # one repeat each
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import torch

from social_mae_hf import SocialMAEConfig, SocialMAEForPreTraining, SocialMAEModel


def layer_flops(tokens: int, width: int, intermediate: int) -> int:
    """Multiply-adds x 2 of one pre-norm layer: qkv, scores, weighted sum, projection, MLP."""
    linear = 2 * tokens * width * (3 * width + width + 2 * intermediate)
    attention = 2 * 2 * tokens * tokens * width
    return linear + attention


def encoder_flops(config: SocialMAEConfig, audio_tokens: int, video_tokens: int) -> int:
    d, i = config.hidden_size, config.intermediate_size
    embed = 2 * audio_tokens * config.audio_patch_dim * d + 2 * video_tokens * config.video_patch_dim * d
    stacks = config.num_modality_layers * (layer_flops(audio_tokens, d, i) + layer_flops(video_tokens, d, i))
    return embed + stacks + config.num_fusion_layers * layer_flops(audio_tokens + video_tokens, d, i)


def pretraining_forward_flops(config: SocialMAEConfig) -> int:
    """Masked encoder, both contrastive passes, decoder over every token, prediction heads."""
    d, i = config.hidden_size, config.intermediate_size
    na, nv = config.num_audio_patches, config.num_video_patches
    ka, kv = int(na * (1 - config.audio_mask_ratio)), int(nv * (1 - config.video_mask_ratio))
    embed = 2 * na * config.audio_patch_dim * d + 2 * nv * config.video_patch_dim * d
    encoder = config.num_modality_layers * (layer_flops(ka, d, i) + layer_flops(kv, d, i))
    fusion = config.num_fusion_layers * (layer_flops(ka + kv, d, i) + layer_flops(ka, d, i) + layer_flops(kv, d, i))
    dd, di = config.decoder_hidden_size, config.decoder_intermediate_size
    decoder = 2 * (ka + kv) * d * dd + config.decoder_num_hidden_layers * layer_flops(na + nv, dd, di)
    heads = 2 * na * dd * config.audio_patch_dim + 2 * nv * dd * config.video_patch_dim
    return embed + encoder + fusion + decoder + heads


_A, _B = torch.randn(2048, 2048), torch.randn(2048, 2048)


def matmul_rate(seconds: float = 1.0) -> float:
    """Best float32 GEMM rate (2048^3, all threads) over a short burst: this machine's attainable FLOP/s now."""
    torch.mm(_A, _B)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        torch.mm(_A, _B)
        best = max(best, 2 * 2048**3 / (time.perf_counter() - start))
    return best


def paired_runs(fn, flops: float, repeats: int) -> tuple[float, float]:
    """(median seconds, median ratio of the run's FLOP/s to the matmul rate measured just before it)."""
    fn()  # warm-up
    seconds, ratios = [], []
    for _ in range(repeats):
        rate = matmul_rate()
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
        ratios.append(flops / seconds[-1] / rate)
    return statistics.median(seconds), statistics.median(ratios)


def inputs(config: SocialMAEConfig, batch: int) -> dict[str, torch.Tensor]:
    return {
        "input_values": torch.randn(batch, config.audio_length, config.num_mel_bins),
        "pixel_values": torch.randn(batch, config.num_frames, 3, config.image_size, config.image_size),
    }


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_probe(folder: str) -> None:
    """Run in a child process: peak resident memory of batch-1 inference over the process before loading."""
    baseline = rss_bytes()
    model = SocialMAEModel.from_pretrained(folder).eval()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    batch = inputs(model.config, 1)
    peak, running = [rss_bytes()], [True]

    def sample():
        while running[0]:
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.001)

    sampler = threading.Thread(target=sample)
    sampler.start()
    with torch.inference_mode():
        model(**batch)
    running[0] = False
    sampler.join()
    print(json.dumps({"weights": weights, "peak_over_baseline": peak[0] - baseline}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one timed repeat each")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        memory_probe(args.memory_probe)
        return
    repeats = 1 if args.quick else args.repeats
    torch.manual_seed(0)
    config = SocialMAEConfig.social_mae()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, full-size Social-MAE (768 wide, 11+1 layers)")

    print(f"float32 matmul (2048^3) now: {matmul_rate(2.0) / 1e9:.1f} GFLOP/s\n")
    batch = inputs(config, args.batch_size)
    flops = args.batch_size * encoder_flops(config, config.num_audio_patches, config.num_video_patches)
    results = {}
    for implementation in ("eager", "sdpa"):
        model = SocialMAEModel(SocialMAEConfig.social_mae(attn_implementation=implementation)).eval()
        with torch.inference_mode():
            seconds, ratio = paired_runs(lambda model=model: model(**batch), flops, repeats)
        results[implementation] = seconds
        print(
            f"encoder forward, batch {args.batch_size}, {implementation:5s}: {seconds:6.2f} s  "
            f"{args.batch_size / seconds:5.2f} clips/s  {flops / seconds / 1e9:6.1f} GFLOP/s  "
            f"= {ratio:5.1%} of matmul"
        )
    print(f"sdpa / eager speed-up: {results['eager'] / results['sdpa']:.2f}x\n")

    model = SocialMAEForPreTraining(config).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    train_batch = inputs(config, 2)

    def step():
        optimizer.zero_grad(set_to_none=True)
        model(**train_batch).loss.backward()
        optimizer.step()

    step_flops = 3 * 2 * pretraining_forward_flops(config)  # backward ~ 2x forward
    seconds, ratio = paired_runs(step, step_flops, repeats)
    print(
        f"pretraining step (fwd+bwd+AdamW), batch 2: {seconds:6.2f} s  {2 / seconds:5.2f} clips/s  "
        f"~{step_flops / seconds / 1e9:6.1f} GFLOP/s = {ratio:5.1%} of matmul\n"
    )

    folder = os.path.join("/tmp", "social_mae_full_size")
    SocialMAEModel(config).save_pretrained(folder)
    probe = subprocess.run(
        [sys.executable, __file__, "--memory-probe", folder], capture_output=True, text=True, check=True
    )
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    print(
        f"batch-1 inference: weights {memory['weights'] / 2**20:.0f} MiB, peak resident memory over the "
        f"process before loading {memory['peak_over_baseline'] / 2**20:.0f} MiB "
        f"= {memory['peak_over_baseline'] / memory['weights']:.2f}x the weights"
    )


if __name__ == "__main__":
    main()
