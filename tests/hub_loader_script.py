"""Run by test_hub.py in a fresh interpreter: load pushed repos by id from an offline Hub cache, run them, save outputs.

usage: python hub_loader_script.py (installed|blocked) JOB.json

`blocked` makes `import social_mae_hf` fail before transformers is imported, so everything must come from the
repos' own code files (`trust_remote_code=True`).
"""

import sys

MODE = sys.argv[1]
if MODE == "blocked":
    sys.modules["social_mae_hf"] = None  # any import of the package now raises ImportError

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForVideoClassification,
    AutoProcessor,
    pipeline,
)

# `transformers.AutoVideoProcessor` is a placeholder where torchvision is not installed.
from transformers.models.auto.video_processing_auto import AutoVideoProcessor  # noqa: E402

job = json.loads(Path(sys.argv[2]).read_text())
remote = {"trust_remote_code": True} if MODE == "blocked" else {}
if MODE == "blocked":
    try:
        import social_mae_hf  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("social_mae_hf is importable in the blocked environment")
    head_class = AutoModelForVideoClassification
else:
    from social_mae_hf import AutoModelForAudioVisualClassification as head_class

inputs = load_file(job["inputs"])
outputs, classes = {}, {}
with torch.no_grad():
    for repo in job["repos"]:
        config = AutoConfig.from_pretrained(repo, **remote)
        x = {k[len(repo) + 1 :]: v for k, v in inputs.items() if k.startswith(repo + "/")}
        model_inputs = {"input_values": x["input_values"], "pixel_values": x["pixel_values"]}
        encoder = AutoModel.from_pretrained(repo, **remote).eval()
        outputs[f"{repo}/pooler_output"] = encoder(**model_inputs).pooler_output
        names = [type(config), type(encoder)]
        if config.architectures[0] == "SocialMAEForPreTraining":
            model = AutoModelForPreTraining.from_pretrained(repo, **remote).eval()
            out = model(**model_inputs, audio_noise=x["audio_noise"], video_noise=x["video_noise"])
            outputs[f"{repo}/audio_logits"], outputs[f"{repo}/video_logits"] = out.audio_logits, out.video_logits
            outputs[f"{repo}/loss"] = out.loss
        else:
            model = head_class.from_pretrained(repo, **remote).eval()
            outputs[f"{repo}/logits"] = model(**model_inputs).logits
        names.append(type(model))
        processor = AutoProcessor.from_pretrained(repo, **remote)
        for key, value in processor(videos=job["clip"]).items():
            outputs[f"{repo}/features/{key}"] = value
        extractor = AutoFeatureExtractor.from_pretrained(repo, **remote)
        audio = extractor(inputs["waveform"], sampling_rate=16000)["input_values"]
        outputs[f"{repo}/feature_extractor/input_values"] = audio
        video_processor = AutoVideoProcessor.from_pretrained(repo, **remote)
        outputs[f"{repo}/video_processor/pixel_values"] = video_processor(job["clip"])["pixel_values"]
        names += [type(processor), type(extractor), type(video_processor)]
        if config.architectures[0] != "SocialMAEForPreTraining":
            # transformers' own pipeline, video only: the head under AutoModelForVideoClassification.
            classify = pipeline("video-classification", model=repo, **remote)
            scores = classify(job["clip"], top_k=6)
            outputs[f"{repo}/video_classification"] = torch.tensor([row["score"] for row in scores])
        classes[repo] = [f"{c.__module__}.{c.__name__}" for c in names]

save_file({k: v.contiguous() for k, v in outputs.items()}, job["outputs"])
Path(job["classes"]).write_text(json.dumps(classes))
