"""`social-mae demo`: the whole path, media file -> features -> model -> predictions, offline on a CPU.

Without `--model` it runs an embedded default: a small randomly initialised model with the released Social-MAE
input geometry (8 BGR frames of 224 px, 1024 fbank frames) and CREMA-D's six emotion labels. Its predictions
are meaningless (the weights are random); pass `--model` with a converted folder for real ones.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .inputs import add_model_loading, model_kwargs, positive_int

if TYPE_CHECKING:  # imported where used: building the command line must not import torch
    from ..configuration_social_mae import SocialMAEConfig
    from ..modeling_social_mae import SocialMAEPreTrainedModel
    from ..processing_social_mae import SocialMAEProcessor

HELP = "Generate a talking-face clip and run feature extraction and a model on it (offline, CPU)."

CREMA_D_EMOTIONS = ("anger", "disgust", "fear", "happy", "neutral", "sad")


def demo_config(seed_labels: tuple[str, ...] = CREMA_D_EMOTIONS) -> SocialMAEConfig:
    """Released input geometry, small width and depth: the real preprocessing, a fast forward pass."""
    from ..configuration_social_mae import SocialMAEConfig

    return SocialMAEConfig.social_mae(
        hidden_size=192,
        num_attention_heads=3,
        num_modality_layers=4,
        num_fusion_layers=1,
        intermediate_size=768,
        id2label=dict(enumerate(seed_labels)),
    )


def load_model(model: str | None, seed: int, **kwargs) -> tuple[SocialMAEPreTrainedModel, SocialMAEProcessor, str]:
    """The user's converted folder / Hub id with its own processor, or the embedded random default; `kwargs` go to
    `from_pretrained` (`dtype`: the default model is cast to it, "auto" keeping its float32)."""
    import torch

    from ..loading import load_config, load_processor, load_weights, saved_architecture
    from ..modeling_social_mae import (
        SocialMAEForAudioVisualClassification,
        SocialMAEForPreTraining,
        SocialMAEForRegression,
        SocialMAEModel,
    )
    from ..processing_social_mae import SocialMAEProcessor

    if model is None:
        torch.manual_seed(seed)
        network = SocialMAEForAudioVisualClassification(demo_config())
        if kwargs.get("dtype", "auto") != "auto":
            network = network.to(getattr(torch, kwargs["dtype"]))
        return network.eval(), SocialMAEProcessor.for_model_config(network.config), "embedded default"
    architecture = saved_architecture(load_config(model, **kwargs)) or SocialMAEModel.__name__
    classes = {
        cls.__name__: cls
        for cls in (
            SocialMAEModel,
            SocialMAEForPreTraining,
            SocialMAEForAudioVisualClassification,
            SocialMAEForRegression,
        )
    }
    if architecture not in classes:
        raise ValueError(f"{model}: architecture {architecture!r} is not a Social-MAE model.")
    network = load_weights(classes[architecture].from_pretrained, model, **kwargs).eval()
    return network, load_processor(model), str(model)


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run_demo(
    model: str | None = None,
    video: str | None = None,
    output_dir: str | None = None,
    seed: int = 0,
    top_k: int = 3,
    **model_kwargs,
) -> dict:
    """Run and print every step; returns what was computed (for tests and notebooks). `model_kwargs` go to
    `from_pretrained` (`dtype`, `trust_remote_code`)."""
    import torch

    with torch.inference_mode():
        return _run_demo(model, video, output_dir, seed, top_k, model_kwargs)


def _run_demo(
    model: str | None, video: str | None, output_dir: str | None, seed: int, top_k: int, model_kwargs: dict
) -> dict:
    from .. import synthetic
    from ..modeling_social_mae import (
        SocialMAEForAudioVisualClassification,
        SocialMAEForPreTraining,
    )

    folder = Path(output_dir or tempfile.mkdtemp(prefix="social-mae-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if video is None:
        video = folder / "talking_face.mp4"
        _, seconds = _timed(
            lambda: synthetic.write_clip(
                video, duration_s=6.0, fps=25, width=320, height=240, audio="speech", tone_hz=140.0, seed=seed
            )
        )
        print(f"1. wrote a synthetic talking-face clip (6 s, 320x240, 25 fps, h264 + aac speech) in {seconds:.2f} s")
        print(f"   {video} ({Path(video).stat().st_size / 1024:.0f} KiB)")
    else:
        print(f"1. using {video}")

    network, processor, source = load_model(model, seed, **model_kwargs)
    config = network.config
    print(
        f"2. model: {type(network).__name__} ({source}), {sum(p.numel() for p in network.parameters()) / 1e6:.1f}M "
        f"parameters in {str(network.dtype).removeprefix('torch.')}, {config.num_modality_layers}+"
        f"{config.num_fusion_layers} layers x {config.hidden_size} wide"
    )

    features, seconds = _timed(lambda: processor(videos=str(video)))
    features = {k: v.to(network.dtype) if v.is_floating_point() else v for k, v in features.items()}
    print(f"3. features in {seconds:.2f} s (PyAV decoding, Kaldi fbank, frame sampling and resize):")
    for name, tensor in features.items():
        print(f"   {name:13s} {tuple(tensor.shape)}  mean {tensor.mean():+.3f}  std {tensor.std():.3f}")

    encoder = network.base_model  # the SocialMAEModel itself, or a head model's
    results = {"features": {k: tuple(v.shape) for k, v in features.items()}}
    print("4. encoder (pooled embedding = mean over tokens):")
    passes = {
        "audiovisual": dict(features),
        "audio only": {"input_values": features["input_values"]},
        "video only": {"pixel_values": features["pixel_values"]},
    }
    for name, inputs in passes.items():
        outputs, seconds = _timed(lambda inputs=inputs: encoder(**inputs))
        norm = outputs.pooler_output.float().norm(dim=-1).item()
        tokens = outputs.last_hidden_state.shape[1]
        print(f"   {name:12s} {tokens:5d} tokens  |pooled| {norm:7.3f}  {seconds * 1000:7.1f} ms")
        results[f"{name} norm"] = norm

    if isinstance(network, SocialMAEForAudioVisualClassification) and config.problem_type == "regression":
        values = network(**features).logits[0].float()
        print("5. predicted targets:")
        for index, value in enumerate(values.tolist()):
            print(f"   {config.id2label.get(index, f'target_{index}'):18s} {value:+.3f}")
        results["targets"] = values.tolist()
    elif isinstance(network, SocialMAEForAudioVisualClassification):
        probabilities = network(**features).logits.float().softmax(-1)[0]
        scores, indices = probabilities.topk(min(top_k, probabilities.numel()))
        top = [(config.id2label[int(i)], float(s)) for s, i in zip(scores, indices)]
        note = " (random weights: meaningless until you pass --model)" if model is None else ""
        print(f"5. top predictions{note}:")
        for label, score in top:
            print(f"   {label:12s} {score:.3f}")
        results["top"] = top
    elif isinstance(network, SocialMAEForPreTraining):
        outputs = network(**features)
        print(
            f"5. pretraining losses at mask ratio {config.audio_mask_ratio}/{config.video_mask_ratio}: "
            f"audio {outputs.audio_reconstruction_loss:.4f}, video {outputs.video_reconstruction_loss:.4f}"
        )
        results["reconstruction"] = float(outputs.reconstruction_loss)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="A converted folder or Hub id. Default: an embedded small random model (meaningless predictions).",
    )
    parser.add_argument("--video", default=None, help="Use this media file instead of generating a synthetic clip.")
    parser.add_argument("--output-dir", default=None, help="Where to write the synthetic clip (default: a temp dir).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the synthetic clip and the random model.")
    parser.add_argument(
        "--top-k", type=positive_int, default=3, help="Predictions to show for a classification model (default 3)."
    )
    add_model_loading(parser)


def run(args: argparse.Namespace) -> int:
    run_demo(
        model=args.model,
        video=args.video,
        output_dir=args.output_dir,
        seed=args.seed,
        top_k=args.top_k,
        **model_kwargs(args),
    )
    return 0
