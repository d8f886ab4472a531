"""How a command loads its model and processor: through `loading` alone, the face crop in the processor's one form,
the dtype asked for; and the command-line details of those options (a bare --face-crop, hints as flags)."""

import json
import os
import threading

import pytest
import torch
from safetensors import safe_open

import social_mae_hf.loading as loading
from social_mae_hf.cli import main as cli_main
from social_mae_hf.cli.inputs import collect_media
from social_mae_hf.face_crop import FaceCropSettings


def test_a_bare_face_crop_does_not_take_the_next_argument(monkeypatch):
    seen = []
    monkeypatch.setattr("social_mae_hf.cli.predict.run", lambda args: seen.append(args) or 0)
    assert cli_main(["predict", "model", "--face-crop", "clip.mp4"]) == 0
    assert seen[-1].face_crop == "default" and seen[-1].inputs == ["clip.mp4"]
    assert cli_main(["predict", "model", "a.mp4", "--face-crop", "yunet", "--face-detector-model", "y.onnx"]) == 0
    assert seen[-1].face_crop == "yunet" and seen[-1].inputs == ["a.mp4"]
    assert cli_main(["predict", "model", "a.mp4", "--face-crop"]) == 0
    assert seen[-1].face_crop == "default"
    assert loading.face_crop_from_flags("default") == loading.face_crop_from_flags(FaceCropSettings().detector)


def test_commands_load_through_loading_with_the_face_crop_as_one_dict(converted, media, monkeypatch, capsys):
    calls = []
    load_model, load_processor = loading.load_model, loading.load_processor

    def model_spy(name, auto_class, **kwargs):
        calls.append(("model", auto_class.__name__, kwargs))
        return load_model(name, auto_class, **kwargs)

    def processor_spy(name, **kwargs):
        calls.append(("processor", kwargs))
        return load_processor(name, **kwargs)

    monkeypatch.setattr(loading, "load_model", model_spy)
    monkeypatch.setattr(loading, "load_processor", processor_spy)
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    argv = ["predict", model, clip, "--face-crop", "haar", "--face-margin", "1.5", "--dtype", "float32", "--quiet"]
    assert cli_main(argv) == 0
    (_, auto_class, model_kwargs), (_, processor_kwargs) = calls
    assert auto_class == "AutoModelForAudioVisualClassification"
    assert model_kwargs == {"needs": "head", "dtype": "float32"}
    face_crop = processor_kwargs["face_crop"]
    assert type(face_crop) is dict and face_crop["detector"] == "haar" and face_crop["margin"] == 1.5
    json.dumps(face_crop)  # plain JSON values, as a saved processor config holds them
    assert "face" in capsys.readouterr().out.splitlines()[0]  # the crop ran: the table has its column


def test_a_processor_takes_the_face_crop_in_each_form(converted):
    folder = converted["social_mae_finetune"]
    settings = loading.face_crop_from_flags("haar", face_margin=1.4)
    processor = loading.load_processor(folder, face_crop=settings)
    assert processor.video_processor.face_crop == settings
    assert loading.with_face_crop(processor, False).video_processor.face_crop is None
    assert loading.with_face_crop(processor, "haar").video_processor.face_crop["detector"] == "haar"
    assert loading.with_face_crop(processor, "none").video_processor.face_crop is None
    kept = loading.with_face_crop(loading.load_processor(folder, face_crop=True), None)
    assert kept.video_processor.face_crop["detector"] == FaceCropSettings().detector


def _logits(capsys, argv) -> list[float]:
    assert cli_main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    return [row["score"] for row in sorted(record["predictions"], key=lambda row: row["label"])]


def test_bfloat16_predictions_are_close_to_float32_with_the_same_top_1(converted, media, capsys):
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    argv = ["predict", model, clip, "--format", "jsonl", "--function-to-apply", "none", "--top-k", "100", "--quiet"]
    full = _logits(capsys, [*argv, "--dtype", "float32"])
    half = _logits(capsys, [*argv, "--dtype", "bfloat16"])
    assert _logits(capsys, [*argv, "--dtype", "auto"]) == full  # the saved dtype: float32
    assert max(abs(a - b) for a, b in zip(full, half)) < 0.05 * max(1.0, max(map(abs, full)))
    assert full != half  # it did run in bfloat16
    assert full.index(max(full)) == half.index(max(half))


def test_dtype_reaches_embed_reconstruct_and_demo(converted, media, tmp_path, capsys):
    clip = str(media("c25.mp4"))
    out = tmp_path / "e.safetensors"
    assert (
        cli_main(["embed", str(converted["social_mae_finetune"]), clip, "--output", str(out), "--dtype", "bfloat16"])
        == 0
    )
    with safe_open(out, "pt") as stored:
        assert stored.get_tensor("fused_embedding").dtype == torch.bfloat16
    png = tmp_path / "r.png"
    argv = ["reconstruct", str(converted["social_mae_pretrain"]), clip, "--output", str(png), "--dtype", "bfloat16"]
    assert cli_main(argv) == 0 and png.stat().st_size > 1000
    capsys.readouterr()
    assert (
        cli_main(["demo", "--model", str(converted["social_mae_finetune"]), "--video", clip, "--dtype", "bfloat16"])
        == 0
    )
    assert "parameters in bfloat16" in capsys.readouterr().out
    assert cli_main(["demo", "--video", clip, "--dtype", "float16"]) == 0
    assert "parameters in float16" in capsys.readouterr().out


def test_a_fifo_given_as_media_is_refused_without_waiting(converted, tmp_path, capsys):
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"clip\.mp4: is not a regular file"):
        collect_media([fifo])
    result = []
    run = threading.Thread(
        target=lambda: result.append(cli_main(["predict", str(converted["social_mae_finetune"]), str(fifo)])),
        daemon=True,
    )
    run.start()
    run.join(timeout=60)
    assert result == [2]
    assert "is not a regular file (a FIFO, device or socket)" in capsys.readouterr().err


def test_hints_name_the_commands_flags(converted, media, capsys):
    clip = str(media("c25.mp4"))
    assert cli_main(["predict", str(converted["social_mae_finetune"]), clip, "--face-margin", "1.2"]) == 2
    error = capsys.readouterr().err
    assert "--face-margin set(s) the face crop: give --face-crop too" in error
    assert "face_crop" not in error and "face_margin" not in error
    from social_mae_hf.cli import build_parser
    from social_mae_hf.cli.messages import keyword_flags, with_flags

    predict = build_parser()._subparsers._group_actions[0].choices["predict"]
    message = "load it with trust_remote_code=True, or pass modalities='video'"
    assert with_flags(message, keyword_flags(predict)) == "load it with --trust-remote-code, or pass --modalities video"


def _imported_modules(path) -> set[str]:
    """The package modules a source file imports (at any depth of the file: lazy imports count), as dotted names
    relative to `social_mae_hf`."""
    import ast
    from pathlib import Path

    package = Path(loading.__file__).parent
    folder = path.parent.relative_to(package).parts  # the package the file is in
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = folder[: len(folder) - (node.level - 1)]
            found.add(".".join([*base, *([node.module] if node.module else [])]))
    return found


def test_loading_goes_one_way_and_nothing_imports_the_command_line():
    from pathlib import Path

    package = Path(loading.__file__).parent
    assert not {m for m in _imported_modules(package / "loading.py") if m.split(".")[0] in ("auto", "pipelines", "cli")}
    pipelines = _imported_modules(package / "pipelines" / "__init__.py")
    assert "cli" not in {m.split(".")[0] for m in pipelines}
    for path in package.rglob("*.py"):
        if "cli" not in path.relative_to(package).parts:
            assert not any(m.split(".")[0] == "cli" for m in _imported_modules(path)), path


def test_a_command_shows_no_loading_bars_and_warns_in_its_flags(converted, tmp_path, capsys):
    """Loading a model is too quick to need a bar; the package's warnings speak the command's options."""
    from test_media import tone, write_audio_tracks
    from transformers.utils import logging as transformers_logging

    transformers_logging.enable_progress_bar()  # an earlier test's training run may have turned them off
    clip = write_audio_tracks(
        tmp_path / "a.mp4", [("aac", "mono", tone(300, 2.0)[None], None)], video=True, video_seconds=6
    )
    model = str(converted["social_mae_finetune"])
    assert cli_main(["predict", model, str(clip), "--chunk-length-s", "1", "--format", "jsonl"]) == 0
    err = capsys.readouterr().err
    assert "Loading weights" not in err and "1/1" in err  # our own progress stays
    assert "social-mae predict: warning: " in err and "(--modalities video covers all of its video)" in err
    assert "modalities='video'" not in err
    assert transformers_logging.is_progress_bar_enabled()  # as it was, for the rest of the process


def test_a_keyword_without_its_value_is_the_flag_alone():
    from social_mae_hf.cli import build_parser
    from social_mae_hf.cli.messages import keyword_flags, with_flags

    predict = build_parser()._subparsers._group_actions[0].choices["predict"]
    message = "a voice on another track needs audio_stream=; one in a 5.1 centre channel, audio_channel_mix='downmix'"
    expected = "a voice on another track needs --audio-stream; one in a 5.1 centre channel, --audio-channel-mix downmix"
    assert with_flags(message, keyword_flags(predict)) == expected
    assert with_flags("runs/top_k=5/x, top_k=", keyword_flags(predict)) == "runs/top_k=5/x, top_k="
