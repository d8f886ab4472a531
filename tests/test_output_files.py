"""Command outputs: regular files are replaced atomically at the end; devices, FIFOs and `/proc/self/fd/N` are
written through, never replaced; a symlink keeps pointing where it did; a full disk is an error that names it."""

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from social_mae_hf.cli import main as cli_main
from social_mae_hf.files import ReplacedAtEnd


def _write(target, text: str) -> None:
    with ReplacedAtEnd(target) as output, open(output.path, "w", encoding="utf-8") as handle:
        handle.write(text)


def test_a_regular_file_is_replaced_only_at_the_end(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), ReplacedAtEnd(target) as output:
        Path(output.path).write_text("half")
        assert output.path != target and target.read_text() == "old"
        raise RuntimeError("the run failed")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]
    _write(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


def test_a_symlink_is_kept_and_its_target_written(tmp_path):
    (tmp_path / "results").mkdir()
    real = tmp_path / "results" / "run1.jsonl"
    real.write_text("old")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(real)
    _write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and sorted(os.listdir(tmp_path / "results")) == ["run1.jsonl"]


def test_a_fifo_is_written_through_to_its_reader(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    _write(fifo, "results\n")
    reader.join(timeout=30)
    assert received == ["results\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_proc_self_fd_is_written_through():
    read_end, write_end = os.pipe()
    try:
        _write(f"/proc/self/fd/{write_end}", "to the pipe")
        os.close(write_end)
        write_end = None
        assert os.read(read_end, 100) == b"to the pipe"
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


def test_dev_null_stays_a_device():
    _write(os.devnull, "nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="this system has no /dev/full")
def test_dev_full_is_a_clear_no_space_error():
    with pytest.raises(OSError, match="/dev/full: no space left on the device"):
        _write("/dev/full", "x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_full_disk_leaves_the_old_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    message = "no space left on the device; the earlier file is as it was"
    with pytest.raises(OSError, match=message), ReplacedAtEnd(target):
        raise OSError(28, "No space left on device")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.txt"]


def test_predict_output_through_a_symlink_and_to_dev_full(converted, media, tmp_path, capsys):
    model, clip = str(converted["social_mae_finetune"]), str(media("c25.mp4"))
    real = tmp_path / "run.jsonl"
    real.write_text("old\n")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(real)
    assert cli_main(["predict", model, clip, "--format", "jsonl", "--output", str(link), "--quiet"]) == 0
    assert link.is_symlink() and json.loads(real.read_text())["file"] == clip
    capsys.readouterr()
    if os.path.exists("/dev/full"):
        assert cli_main(["predict", model, clip, "--format", "jsonl", "--output", "/dev/full", "--quiet"]) == 2
        assert "error: /dev/full: no space left on the device" in capsys.readouterr().err
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
