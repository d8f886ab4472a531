"""Writing result files so that nothing is lost and everyone who should can read them.

A command's output that is a regular file (or does not exist yet) is written to a temporary file next to it and
moved into place only at the end, so that a run that fails (a typo in the model name, a bad file, Ctrl-C, a full
disk) leaves an earlier result as it was. A symlink's target is replaced that way, and the link kept. Anything
else that can be written (a device such as `/dev/null`, a FIFO, a socket, `/dev/stdout` or `/proc/self/fd/1`) is
written through: replacing it would destroy it, or leave its reader with nothing. Files come out with the
permissions `open()` gives (`0o666` less the umask): `safetensors` and `tempfile` create theirs readable by the
owner only.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["ReplacedAtEnd", "open_permissions"]


def file_mode() -> int:
    """The permission bits of a file created now with `open()`: `0o666` less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def open_permissions(*paths: str | os.PathLike) -> None:
    """Give files the permissions `open()` would have given them (see [`file_mode`])."""
    mode = file_mode()
    for path in paths:
        os.chmod(path, mode)


def _is_written_through(path: Path) -> bool:
    """Whether `path` (followed through symlinks) exists and is not a regular file or a folder: a device, FIFO or
    socket, which is written to as it is."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


class ReplacedAtEnd:
    """Where to write `target` so that it changes only when the `with` block ends without an error.

    For a regular file (or a new one), `path` is a temporary file next to it, moved onto it at the end; for a
    symlink, next to the file it points to (the link stays); for a device, FIFO or socket, `path` is `target`
    itself. Entering creates the folder and the temporary file, so that an output that cannot be written is
    reported before any work; `discard()` keeps the target as it was. The target keeps its own permissions when it
    exists, and gets `open()`'s otherwise. A full disk is reported as such, the target unchanged. With
    `keep_partial`, the temporary file is `<target>.partial`, and a run that stops (an error, Ctrl-C, or a kill,
    which runs no cleanup) leaves what it wrote there.

        with ReplacedAtEnd("out.jsonl") as output:
            write(output.path)
    """

    def __init__(self, target: str | os.PathLike, keep_partial: bool = False):
        self.target = Path(target)
        self.keep_partial = keep_partial
        self.path: Path | None = None
        self._discarded = False
        self._through = False

    def __enter__(self) -> ReplacedAtEnd:
        if self.target.is_dir():
            raise IsADirectoryError(f"{self.target}: is a folder; give a file name for the output")
        if _is_written_through(self.target):
            self._through = True
            self.path = self.target
            return self
        final = Path(os.path.realpath(self.target)) if self.target.is_symlink() else self.target
        folder = final.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if self.keep_partial:
                name = f"{final}.partial"
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            else:
                handle, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=final.suffix, dir=folder)
                os.close(handle)
        except OSError as error:
            raise OSError(f"{self.target}: cannot write into {folder} ({error.strerror or error})") from error
        self.final = final
        self.path = Path(name)
        return self

    def discard(self) -> None:
        self._discarded = True

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None and not self._discarded and not self._through:
                mode = os.stat(self.final).st_mode & 0o7777 if self.final.exists() else file_mode()
                os.chmod(self.path, mode)
                os.replace(self.path, self.final)
        finally:
            stopped = error_type is not None and not self._discarded
            if (
                self.keep_partial
                and stopped
                and not self._through
                and self.path.exists()
                and self.path.stat().st_size > 0
            ):
                print(f"the results written before the run stopped are in {self.path}", file=sys.stderr)
            elif not self._through:
                self.path.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            kept = "" if self._through or not self.target.exists() else "; the earlier file is as it was"
            raise OSError(f"{self.target}: no space left on the device{kept}") from error
