"""`social-mae predict` / `embed` and the completeness of every command's --help."""

import argparse
import csv
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import pipeline

from social_mae_hf.cli import COMMANDS, build_parser
from social_mae_hf.cli import main as cli_main
from social_mae_hf.cli.messages import keyword_flags, with_flags


def test_every_option_of_every_command_is_documented(capsys):
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(commands) == set(COMMANDS) >= {"predict", "embed", "convert", "reconstruct", "demo", "publish"}
    for name, sub in commands.items():
        assert sub.description, name
        for action in sub._actions:
            assert action.help and action.help != argparse.SUPPRESS, f"{name}: {action.dest} has no help"
        with pytest.raises(SystemExit) as exit_info:
            cli_main([name, "--help"])
        assert exit_info.value.code == 0
        assert "usage: social-mae " + name in capsys.readouterr().out


def test_convert_no_processor_keeps_its_former_name():
    for flag in ("--no-processor", "--no-feature-extractor"):
        assert build_parser().parse_args(["convert", "x.pth", "out", flag]).no_processor is True
    assert build_parser().parse_args(["convert", "x.pth", "out"]).no_processor is False


@pytest.fixture()
def folder_of_clips(media, tmp_path):
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(media("c25.mp4"), folder / "b.mp4")
    shutil.copy(media("c30.mp4"), folder / "a.mp4")
    shutil.copy(media("stereo.mp4"), folder / "sub" / "c.mp4")
    (folder / "notes.txt").write_text("not media")
    return folder


def test_predict_jsonl_matches_the_pipeline(converted, folder_of_clips, capsys):
    model = str(converted["social_mae_finetune"])
    assert cli_main(["predict", model, str(folder_of_clips), "--format", "jsonl", "--top-k", "3", "--quiet"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["file"] for r in records] == [str(folder_of_clips / "a.mp4"), str(folder_of_clips / "b.mp4")]
    assert "skipping 1 non-media file(s)" in captured.err
    expected = pipeline("audio-visual-classification", model=model)(str(folder_of_clips / "a.mp4"), top_k=3)
    assert [r["label"] for r in records[0]["predictions"]] == [r["label"] for r in expected]
    assert [r["score"] for r in records[0]["predictions"]] == pytest.approx([r["score"] for r in expected])

    # Recursive, batched, a timeline, into a file.
    out = folder_of_clips.parent / "out" / "timeline.jsonl"
    args = ["predict", model, str(folder_of_clips), "--recursive", "--chunk-length-s", "3", "--batch-size", "2"]
    assert cli_main([*args, "--format", "jsonl", "--output", str(out), "--quiet", "--top-k", "1"]) == 0
    windows = [json.loads(line) for line in out.read_text().splitlines()]  # one line per window
    assert [w["file"].rsplit("/", 1)[1] for w in windows] == ["a.mp4", "a.mp4", "b.mp4", "b.mp4", "c.mp4"]
    assert [(w["start"], w["end"]) for w in windows[2:4]] == [(0, 3), (3, 6)]
    assert windows[4]["end"] == pytest.approx(1.0, abs=0.05)  # c.mp4 is 1 s long: one window


def test_predict_never_writes_nan_as_json(converted, media, tmp_path, capsys):
    broken = tmp_path / "nan-model"
    shutil.copytree(converted["social_mae_finetune"], broken)
    weights = load_file(broken / "model.safetensors")
    weights["classifier.dense.bias"][2] = float("nan")
    save_file(weights, broken / "model.safetensors")
    clip = str(media("c25.mp4"))
    assert cli_main(["predict", str(broken), clip, "--format", "jsonl", "--function-to-apply", "none", "--quiet"]) == 0
    captured = capsys.readouterr()

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    record = json.loads(captured.out, parse_constant=refuse)
    scores = {row["label"]: row["score"] for row in record["predictions"]}
    assert scores["LABEL_2"] is None and all(isinstance(v, float) for k, v in scores.items() if k != "LABEL_2")
    assert f"warning: {clip}: the model gave NaN or infinite scores (shown as null)" in captured.err
    args = ["predict", str(broken), clip, "--format", "jsonl", "--chunk-length-s", "3", "--quiet"]
    assert cli_main(args) == 0
    windows = [json.loads(line, parse_constant=refuse) for line in capsys.readouterr().out.splitlines()]
    assert len(windows) == 2 and all(row["score"] is None for w in windows for row in w["scores"])  # softmax of NaN
    assert cli_main(["predict", str(broken), clip, "--format", "csv", "--function-to-apply", "none", "--quiet"]) == 0
    captured = capsys.readouterr()
    row = next(csv.DictReader(captured.out.splitlines()))
    assert row["score_LABEL_2"] == "" and row["predicted_label"] != "LABEL_2" and float(row["score_LABEL_0"])
    assert f"warning: {clip}: the model gave NaN or infinite scores (shown as empty cells)" in captured.err


def test_predict_table(converted, media, capsys):
    clip = str(media("c25.mp4"))
    assert cli_main(["predict", str(converted["social_mae_regression"]), clip, "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "predictions"]
    assert lines[1].startswith(clip) and lines[1].count("LABEL_") == 6  # every regression target
    assert cli_main(["predict", str(converted["social_mae_finetune"]), clip, "--chunk-length-s", "2", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["file", "window", "(s)", "predictions"]
    assert len(lines) == 4 and "4.00-6.00" in lines[3]


def test_predict_errors(converted, media, tmp_path, capsys):
    model = str(converted["social_mae_finetune"])
    assert cli_main(["predict", model, str(tmp_path / "nothing.mp4")]) == 2
    assert "nothing.mp4: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli_main(["predict", model, str(tmp_path / "empty")]) == 2
    assert "no media files in" in capsys.readouterr().err
    assert cli_main(["predict", str(converted["social_mae_pretrain"]), str(media("c25.mp4"))]) == 2
    assert "no trained classification or regression head" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt"
    shutil.copytree(model, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\0" * 100)
    assert cli_main(["predict", str(corrupt), str(media("c25.mp4"))]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"social-mae predict: error: {corrupt}: its model.safetensors is not a valid safetensors")
    assert "Traceback" not in error
    (corrupt / "processor_config.json").unlink()
    shutil.copy(Path(model) / "model.safetensors", corrupt / "model.safetensors")
    assert cli_main(["embed", str(corrupt), str(media("c25.mp4")), "--output", str(tmp_path / "e.safetensors")]) == 2
    assert f"{corrupt}: has no processor_config.json" in capsys.readouterr().err
    assert cli_main(["predict", model, str(media("noaudio.mp4")), "--quiet"]) == 1  # the file was skipped
    error = capsys.readouterr().err
    assert "1 of 1 file(s) failed" in error
    assert "no audio track in the input" in error and "noaudio.mp4" in error
    assert "pass --modalities video or --missing-audio drop" in error  # the command's flags, not Python keywords
    assert cli_main(["predict", model, str(media("noaudio.mp4")), "--missing-audio", "drop", "--quiet"]) == 0


@pytest.fixture()
def folder_with_a_bad_file(media, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(media("c25.mp4"), folder / "a.mp4")
    (folder / "b.mp4").write_bytes(b"\0not a video" * 100)
    shutil.copy(media("c30.mp4"), folder / "c.mp4")
    shutil.copy(media("noaudio.mp4"), folder / "d.mp4")
    return folder


@pytest.mark.parametrize("batch_size", ["1", "3"])
def test_predict_skips_bad_files_and_lists_them_at_the_end(converted, folder_with_a_bad_file, capsys, batch_size):
    model = str(converted["social_mae_finetune"])
    args = ["predict", model, str(folder_with_a_bad_file), "--format", "jsonl", "--quiet", "--batch-size", batch_size]
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(r["file"]).name for r in records] == ["a.mp4", "c.mp4"]
    expected = pipeline("audio-visual-classification", model=model)(str(folder_with_a_bad_file / "c.mp4"))
    assert [r["score"] for r in records[1]["predictions"]] == pytest.approx([r["score"] for r in expected])
    report = captured.err.splitlines()
    start = report.index("social-mae predict: 2 of 4 file(s) failed and were skipped:")
    assert report[start + 1].startswith(f"  {folder_with_a_bad_file / 'b.mp4'}: cannot be opened")
    assert "d.mp4" in report[start + 2] and "no audio track" in report[start + 2]


@pytest.mark.parametrize("batch_size", ["1", "3"])
def test_predict_on_error_abort_stops_at_the_first_bad_file(converted, folder_with_a_bad_file, capsys, batch_size):
    """The files before the bad one are predicted whatever the batch size (a batch holding the bad file too)."""
    model = str(converted["social_mae_finetune"])
    args = ["predict", model, str(folder_with_a_bad_file), "--format", "jsonl", "--quiet", "--on-error", "abort"]
    args += ["--batch-size", batch_size]
    assert cli_main(args) == 2
    captured = capsys.readouterr()
    assert [Path(json.loads(line)["file"]).name for line in captured.out.splitlines()] == ["a.mp4"]
    assert captured.err.startswith(f"social-mae predict: error: {folder_with_a_bad_file / 'b.mp4'}: cannot be opened")


def test_embed_leaves_out_bad_files(converted, folder_with_a_bad_file, tmp_path, capsys):
    output = tmp_path / "e.safetensors"
    model = str(converted["cav_mae_pretrain"])
    args = ["embed", model, str(folder_with_a_bad_file), "--output", str(output), "--quiet", "--batch-size", "2"]
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    assert "2 file(s) ->" in captured.out and "2 of 4 file(s) failed" in captured.err
    good = [str(folder_with_a_bad_file / name) for name in ("a.mp4", "c.mp4")]
    with safe_open(str(output), "pt") as f:
        assert json.loads(f.metadata()["files"]) == good
        video = f.get_tensor("video_embedding")
    expected = pipeline("audio-visual-feature-extraction", model=model)(good[1], return_tensors=True)
    torch.testing.assert_close(video[1], expected["video_embedding"])
    assert cli_main([arg for arg in args if arg != "--quiet"]) == 1  # the progress bar counts skipped files too
    assert "4/4" in capsys.readouterr().err
    bad_only = ["embed", model, str(folder_with_a_bad_file / "b.mp4"), "--output", str(tmp_path / "x.safetensors")]
    assert cli_main(bad_only) == 2
    assert "no file could be embedded" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_outputs_are_replaced_only_at_the_end(converted, folder_with_a_bad_file, media, tmp_path, capsys):
    """A failed run (a typo in the model, nothing usable) leaves an earlier result as it was, and no temporary file."""
    results = tmp_path / "results"
    results.mkdir()
    old = {"p.jsonl": b"earlier predictions\n", "e.safetensors": b"earlier embeddings", "r.png": b"earlier picture"}
    for name, content in old.items():
        (results / name).write_bytes(content)
    (results / "p.jsonl").chmod(0o640)
    clip = str(media("c25.mp4"))
    typo = str(tmp_path / "no-such-model")
    bad = str(folder_with_a_bad_file / "b.mp4")
    for command in (
        ["predict", typo, clip, "--output", str(results / "p.jsonl")],
        ["predict", str(converted["social_mae_finetune"]), bad, "--output", str(results / "p.jsonl")],
        ["embed", typo, clip, "--output", str(results / "e.safetensors")],
        ["reconstruct", typo, clip, "--output", str(results / "r.png")],
        ["reconstruct", str(converted["social_mae_finetune"]), clip, "--output", str(results / "r.png")],
    ):
        assert cli_main([*command, "--quiet"] if command[0] != "reconstruct" else command) != 0, command
        assert {p.name: p.read_bytes() for p in results.iterdir()} == old, command
    capsys.readouterr()

    model = str(converted["social_mae_finetune"])
    assert cli_main(["predict", model, clip, "--format", "jsonl", "--output", str(results / "p.jsonl"), "--quiet"]) == 0
    assert json.loads((results / "p.jsonl").read_text())["file"] == clip
    assert (results / "p.jsonl").stat().st_mode & 0o777 == 0o640  # an existing file keeps its permissions
    assert sorted(p.name for p in results.iterdir()) == sorted(old)
    assert cli_main(["reconstruct", model, clip, "--output", str(results / "r.jpg")]) == 2
    assert "give a .png file name" in capsys.readouterr().err


def test_embed_writes_embeddings_and_recall(converted, media, tmp_path, capsys):
    clips = [str(media(name)) for name in ("c25.mp4", "c30.mp4", "stereo.mp4")]
    output = tmp_path / "emb" / "embeddings.safetensors"
    model = str(converted["cav_mae_pretrain"])
    args = ["embed", model, *clips, "--output", str(output), "--recall-at", "1,3", "--quiet", "--batch-size", "2"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "3 file(s)" in printed and "R@3 1.000" in printed
    umask = os.umask(0)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() makes files, not safetensors' 0600
    with safe_open(str(output), "pt") as f:
        assert json.loads(f.metadata()["files"]) == clips
        assert set(f.keys()) == {"audio_embedding", "video_embedding", "fused_embedding"}
        audio = f.get_tensor("audio_embedding")
    expected = pipeline("audio-visual-feature-extraction", model=model)(clips[1], return_tensors=True)
    torch.testing.assert_close(audio[1], expected["audio_embedding"])

    assert cli_main(["embed", model, clips[0], "--output", str(tmp_path / "e.npz")]) == 2
    assert "must be a .safetensors file" in capsys.readouterr().err
    mixed = ["embed", model, clips[0], str(media("speech.wav")), "--output", str(output), "--quiet"]
    assert cli_main(mixed) == 2
    assert "embed files with the same modalities together" in capsys.readouterr().err
    video_only = ["embed", model, clips[0], "--modalities", "video", "--output", str(output), "--quiet"]
    assert cli_main(video_only) == 0
    with safe_open(str(output), "pt") as f:
        assert set(f.keys()) == {"video_embedding"}
    assert cli_main([*video_only, "--recall-at", "x"]) == 2
    assert "--recall-at must be comma-separated integers" in capsys.readouterr().err


def test_embed_refuses_a_recall_it_cannot_give_before_embedding(converted, media, tmp_path, capsys):
    """A k below 1, or recall asked of video-only embeddings, stops the command before any file is embedded."""
    model, clip = str(converted["cav_mae_pretrain"]), str(media("c25.mp4"))
    output = tmp_path / "e.safetensors"
    embed = ["embed", model, clip, "--output", str(output), "--quiet"]
    for value in ("0", "1,-5"):
        assert one_line_error(capsys, *embed, "--recall-at", value).endswith(
            f"--recall-at must be comma-separated integers >= 1, got {value!r}"
        )
    assert one_line_error(capsys, *embed, "--recall-at", "1", "--modalities", "video").endswith(
        "--recall-at needs audio and video embeddings of every file, but --modalities video leaves one out"
    )
    assert not output.exists()


def test_model_location_mistakes_are_named_without_asking_the_hub(converted, media, tmp_path, monkeypatch, capsys):
    import huggingface_hub

    def no_hub(*args, **kwargs):
        raise AssertionError("the Hub must not be asked")

    monkeypatch.setattr(huggingface_hub.file_download, "get_hf_file_metadata", no_hub)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(converted["social_mae_finetune"], tmp_path / "social-mae-cremad")
    (tmp_path / "models").mkdir()
    clip = str(media("c25.mp4"))

    def error_of(*args) -> str:
        assert cli_main(list(args)) == 2, args
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        return err.strip()

    assert error_of("predict", "./social-mae-cremd", clip) == (
        "social-mae predict: error: no model folder ./social-mae-cremd; did you mean social-mae-cremad?"
    )
    assert error_of("predict", "social-mae-cremd", clip).endswith(
        "no model folder social-mae-cremd; did you mean social-mae-cremad?"
    )
    assert error_of("embed", "models/cremad", clip, "--output", "e.safetensors").endswith(
        "no model folder models/cremad (read as a local path because models/ is a folder here; for the Hub model of "
        "that name, run from another folder)"
    )
    assert error_of("reconstruct", "/nowhere/model", clip).endswith("no model folder /nowhere/model")
    assert error_of("predict", "~/no-such-model-folder", clip).endswith("no model folder ~/no-such-model-folder")

    pth = tmp_path / "cremad.pth"
    pth.write_bytes(b"weights")
    assert "convert it first with `social-mae convert`" in error_of("predict", str(tmp_path), clip)
    message = error_of("embed", str(pth), clip, "--output", "e.safetensors")
    assert f"{pth}: is a checkpoint file, not a model folder" in message and "social-mae convert" in message
    weights = "social-mae-cremad/model.safetensors"
    assert error_of("predict", weights, clip).endswith(
        f"{weights}: is the weights file; give its folder, social-mae-cremad"
    )

    assert error_of("predict", clip, "social-mae-cremad") == (
        f"social-mae predict: error: {clip}: is a media file, but the model comes first (social-mae predict MODEL "
        "INPUTS...); social-mae-cremad looks like the model"
    )
    assert error_of("reconstruct", clip, "org/model").endswith(
        "(social-mae reconstruct MODEL INPUT); org/model looks like the model"
    )
    model = "social-mae-cremad"
    assert error_of("predict", model, model).endswith(
        "social-mae-cremad: is a model folder, not media; the model is the first argument only"
    )
    assert cli_main(["predict", model, clip, "--quiet"]) == 0  # the real folder, for contrast


def one_line_error(capsys, *args, status=2) -> str:
    assert cli_main(list(args)) == status, args
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_bad_settings_get_one_line_errors(converted, media, tmp_path, monkeypatch, capsys):
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "hidden_size": "32"}))
    assert one_line_error(capsys, "predict", str(broken), clip) == (
        f"social-mae predict: error: {broken / 'config.json'}: Field 'hidden_size' expected int, got str "
        "(value: '32'); fix the file, or save or convert the model again"
    )
    (broken / "config.json").write_text(json.dumps({**config, "num_attention_heads": 5}))
    assert "must be divisible by `num_attention_heads` (5)" in one_line_error(
        capsys, "embed", str(broken), clip, "--output", "e.safetensors"
    )

    assert one_line_error(capsys, "predict", model, clip, "--device", "banana").endswith(
        "--device banana: not a device; use cpu, cuda, cuda:1, mps, ..."
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without a GPU
    assert "--device cuda: no cuda device is available here" in one_line_error(
        capsys, "embed", model, clip, "--device", "cuda", "--output", "e.safetensors"
    )
    with pytest.raises(SystemExit) as exit_info:  # argparse's usage error
        cli_main(["predict", model, clip, "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "argument --batch-size: expected a whole number >= 1, got '0'" in capsys.readouterr().err

    for ratio in ("1", "-0.1", "nan"):
        assert one_line_error(capsys, "reconstruct", model, clip, "--mask-ratio", ratio).endswith(
            f"--mask-ratio {float(ratio)}: must be at least 0 and below 1 (the share of patches removed)"
        )
    assert one_line_error(capsys, "synthetic-data", str(tmp_path / "s"), "--duration-s", "-1").endswith(
        "--duration-s -1.0: must be at least one frame long (0.125 s at 8 fps)"
    )
    assert one_line_error(capsys, "synthetic-data", str(tmp_path / "s"), "--size", "4").endswith(
        "--size 4: frames must be at least 16 px square (one 16-px patch of the models)"
    )
    assert "clip count must be a whole number" in one_line_error(
        capsys, "synthetic-data", str(tmp_path / "s"), "--num-clips", "train=-1"
    )
    assert not (tmp_path / "s").exists()


def test_unwritable_output_folder_is_reported_before_the_model_loads(media, tmp_path, monkeypatch, capsys):
    import tempfile

    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # a read-only folder (root ignores chmod)
    output = tmp_path / "read-only" / "e.safetensors"
    error = one_line_error(capsys, "embed", str(tmp_path / "no-model"), str(media("c25.mp4")), "--output", str(output))
    assert error == f"social-mae embed: error: {output}: cannot write into {output.parent} (Permission denied)"


def test_library_hints_are_given_as_the_commands_flags(converted, media, capsys):
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    assert one_line_error(capsys, "predict", model, clip, "--stride-length-s", "2", "--quiet").endswith(
        "--stride-length-s needs --chunk-length-s (the window length)"
    )
    regression = str(converted["social_mae_regression"])
    assert one_line_error(capsys, "predict", regression, clip, "--function-to-apply", "softmax", "--quiet").endswith(
        "a regression model's outputs are values, not logits: use --function-to-apply none"
    )


def test_keyword_hints_become_flags():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--missing-audio", choices=["error", "drop"])
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--format", default="csv")
    flags = keyword_flags(parser, {"manifest_format": "--format"})
    assert with_flags("x.mp4: pass missing_audio='drop', or quiet=True; `top_k` must be >= 1", flags) == (
        "x.mp4: pass --missing-audio drop, or --quiet; --top-k must be >= 1"
    )
    assert with_flags('top_k=3. manifest_format="jsonl" (model=a, device=cuda:1)', flags) == (
        "--top-k 3. --format jsonl (model=a, device=cuda:1)"  # only the parser's options; values keep their colons
    )


def test_training_script_flags_in_library_hints_become_the_commands(tmp_path, capsys):
    """The manifest readers name the training scripts' options (`--split_column`); `social-mae shard` spells its
    own `--split-column`."""
    flags = keyword_flags(build_parser()._subparsers._group_actions[0].choices["shard"])
    assert with_flags("needs its split column (--split_column); --do_train, --train-file", flags) == (
        "needs its split column (--split-column); --do_train, --train-file"  # only the command's own options
    )
    manifest = tmp_path / "all.csv"
    manifest.write_text("video,split\na.mp4,train\n")
    assert one_line_error(capsys, "shard", str(tmp_path / "shards"), "--manifest", str(manifest)).endswith(
        "--manifest needs --split-column (the column naming each row's split)"
    )


def test_file_names_in_hints_stay_as_they_are():
    """A path holding `name=value` (a partitioned folder) names the file, not an option: it is left alone."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--format", default="csv")
    flags = keyword_flags(parser)
    message = "runs/top_k=5/format=mp4.mp4: cannot be opened; pass top_k=3"
    assert with_flags(message, flags) == "runs/top_k=5/format=mp4.mp4: cannot be opened; pass --top-k 3"
    assert with_flags("C:\\runs\\top_k=5\\a.mp4: no such file", flags) == "C:\\runs\\top_k=5\\a.mp4: no such file"


def test_synthetic_data_writes_loadable_manifests(tmp_path, capsys):
    out = tmp_path / "toy"
    assert cli_main(["synthetic-data", str(out), "--num-clips", "train=8,test=4", "--format", "jsonl"]) == 0
    assert "train: 8 clips" in capsys.readouterr().out
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 8
    assert all((out / row["video"]).is_file() for row in rows)
    assert len({row["label"] for row in rows}) == 4  # tone x shape classes, cycled
    assert len((out / "test.jsonl").read_text().splitlines()) == 4
    assert cli_main(["synthetic-data", str(out), "--num-clips", "train"]) == 2
    assert "expected split=count pairs" in capsys.readouterr().err


def test_audio_track_and_channel_mix_options(converted, tmp_path, capsys):
    """--audio-stream picks a file's audio track and --audio-channel-mix how its channels become one: a voice in
    the centre channel of a second, 5.1 track is heard only with both."""
    import numpy as np
    from test_media import tone, write_audio_tracks

    from social_mae_hf import SocialMAEProcessor
    from social_mae_hf.synthetic import make_waveform

    voice = make_waveform(1.0, kind="speech", seed=5)
    centre = np.zeros((6, len(voice)), np.float32)
    centre[2] = voice
    path = write_audio_tracks(
        tmp_path / "tracks.mkv", [("flac", "mono", tone(300)[None], True), ("flac", "5.1", centre, False)]
    )
    model = str(converted["social_mae_pretrain"])
    outputs = {}
    for name, options in {
        "default": [],
        "track": ["--audio-stream", "1"],
        "downmix": ["--audio-stream", "1", "--audio-channel-mix", "downmix"],
    }.items():
        out = tmp_path / f"{name}.safetensors"
        assert cli_main(["embed", model, str(path), "--output", str(out), "--quiet", *options]) == 0
        outputs[name] = load_file(out)["audio_embedding"]
    processor = SocialMAEProcessor.from_pretrained(model)
    embedder = pipeline("audio-visual-feature-extraction", model=model, processor=processor)
    expected = {"default": embedder(str(path), return_tensors=True)["audio_embedding"]}
    expected["track"] = embedder(str(path), audio_stream=1, return_tensors=True)["audio_embedding"]
    processor.feature_extractor.audio_channel_mix = "downmix"
    expected["downmix"] = embedder(str(path), audio_stream=1, return_tensors=True)["audio_embedding"]
    for name, embedding in outputs.items():
        torch.testing.assert_close(embedding[0], expected[name], atol=1e-6, rtol=1e-6)
    assert not torch.allclose(outputs["default"], outputs["downmix"])  # another track
    assert not torch.allclose(outputs["track"], outputs["downmix"])  # the first channel of 5.1 is silent
    capsys.readouterr()
    wrong_track = ["embed", model, str(path), "--output", str(tmp_path / "x.safetensors"), "--audio-stream", "2"]
    assert cli_main(wrong_track) == 2  # the only file failed: nothing to write
    assert "tracks.mkv: --audio-stream 2, but it has 2 audio track(s): 0: mono (default); 1: 5.1" in (
        capsys.readouterr().err
    )


def test_shard_counts_are_checked_by_the_command_line(tmp_path, capsys):
    """A negative shard size or worker count is the option's usage error, naming it, before any manifest is read."""
    for option in ("--clips-per-shard", "--num-workers"):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["shard", str(tmp_path / "shards"), "--train-file", "train.csv", option, "-1"])
        assert exit_info.value.code == 2
        assert f"argument {option}: expected a whole number >= 0, got '-1'" in capsys.readouterr().err


def test_synthetic_data_refuses_a_split_given_twice(tmp_path, capsys):
    error = one_line_error(capsys, "synthetic-data", str(tmp_path / "s"), "--num-clips", "train=4,train=8")
    assert error.endswith("--num-clips 'train=4,train=8': the split train is given twice")
    assert not (tmp_path / "s").exists()
