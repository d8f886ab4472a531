"""The example scripts around their run: a user's mistake ends them with one line, and two runs cannot share an
output folder."""

import multiprocessing
import os
import signal
import socket

import pytest
from conftest import TRAIN_OVERRIDES, load_example

from social_mae_hf.training import OutputDirInUse, lock_output_dir, run_script

COMMON = ["--report_to", "none", "--use_cpu", "--disable_tqdm", "true", "--seed", "0"]


def finetune_args(train_file, output_dir, *extra) -> list[str]:
    return [
        "--config_name", "social-mae", "--config_overrides", TRAIN_OVERRIDES, "--train_file", str(train_file),
        "--output_dir", str(output_dir), "--do_train", "--max_steps", "1", "--save_strategy", "no", *COMMON, *extra,
    ]  # fmt: skip


def one_line_error(capsys, argv) -> str:
    """Run the fine-tuning script as `python examples/run_finetune.py ...` does; its stderr must be one line."""
    main = load_example("run_finetune").main
    with pytest.raises(SystemExit) as stopped:
        run_script(lambda: main(argv))
    assert stopped.value.code == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    return err


def test_user_mistakes_end_the_script_with_one_clear_line(synthetic_set, tmp_path, capsys):
    train = synthetic_set("classification")["train"]
    missing = tmp_path / "nowhere" / "train.csv"
    assert f"manifest {missing} does not exist" in one_line_error(capsys, finetune_args(missing, tmp_path / "a"))
    err = one_line_error(capsys, finetune_args(train, tmp_path / "b", "--label_column", "emotion"))
    assert "emotion" in err
    # Class names given as regression targets: the task does not fit the labels.
    err = one_line_error(
        capsys, finetune_args(train, tmp_path / "c", "--task", "regression", "--target_columns", "label")
    )
    assert "label" in err


def _hold(folder, held, release):
    lock_output_dir(folder)
    held.set()
    release.wait(60)


def test_a_second_run_in_the_same_output_dir_is_refused_naming_the_first(synthetic_set, tmp_path):
    out = tmp_path / "out"
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()
    other = context.Process(target=_hold, args=(out, held, release))
    other.start()
    try:
        assert held.wait(30)
        train = synthetic_set("classification")["train"]
        with pytest.raises(OutputDirInUse, match=f"in use by another run \\(pid {other.pid} on host "):
            load_example("run_finetune").main(finetune_args(train, out))
        with pytest.raises(OutputDirInUse, match=socket.gethostname()):
            lock_output_dir(out)
    finally:
        os.kill(other.pid, signal.SIGKILL)  # a run killed hard: its lock goes with it
        other.join()
    lock_output_dir(out)  # free again; this process now holds it
    lock_output_dir(out)  # and taking it again in the same process is no conflict


def test_a_cpu_run_prints_no_loading_bar_and_no_pin_memory_warning(synthetic_set, tmp_path, capfd):
    """Noise a CPU user saw in every run: transformers' "Loading weights" bar (nothing waits on it) and the
    DataLoader's pin_memory warning (pinning needs an accelerator)."""
    import warnings

    manifest = synthetic_set("classification")["train"]
    main = load_example("run_finetune").main
    main(finetune_args(manifest, tmp_path / "first"))
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main([
            "--model_name_or_path", str(tmp_path / "first"), "--train_file", str(manifest), "--do_train",
            "--output_dir", str(tmp_path / "second"), "--max_steps", "1", "--save_strategy", "no",
            "--dataloader_num_workers", "1", *COMMON,
        ])  # fmt: skip
    err = capfd.readouterr().err
    assert "Loading weights" not in err
    assert not [w for w in caught if "pin_memory" in str(w.message)], [str(w.message) for w in caught]
    assert "pin_memory" not in err
