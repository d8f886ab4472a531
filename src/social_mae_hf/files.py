"""Writing result files so that nothing is lost and everyone who should can read them.

A command's output is written to a temporary file next to it and moved into place only at the end, so that a
run that fails (a typo in the model name, a bad file, Ctrl-C) leaves an earlier result as it was. Files come
out with the permissions `open()` gives (`0o666` less the umask): `safetensors` and `tempfile` create theirs
readable by the owner only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["ReplacedAtEnd", "file_mode", "open_permissions"]


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


class ReplacedAtEnd:
    """A temporary file next to `target`, moved onto it when the `with` block ends without an error.

    Entering creates the folder and the temporary file, so that an output that cannot be written is reported
    before any work; `discard()` keeps the target as it was. The target keeps its own permissions when it
    exists, and gets `open()`'s otherwise.

        with ReplacedAtEnd("out.jsonl") as output:
            write(output.path)
    """

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        self.path: Path | None = None
        self._discarded = False

    def __enter__(self) -> ReplacedAtEnd:
        if self.target.is_dir():
            raise IsADirectoryError(f"{self.target}: is a folder; give a file name for the output")
        folder = self.target.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=self.target.suffix, dir=folder)
        except OSError as error:
            raise OSError(f"{self.target}: cannot write into {folder} ({error.strerror or error})") from error
        os.close(handle)
        self.path = Path(name)
        return self

    def discard(self) -> None:
        self._discarded = True

    def __exit__(self, error_type, error, traceback) -> None:
        try:
            if error_type is None and not self._discarded:
                mode = os.stat(self.target).st_mode & 0o7777 if self.target.exists() else file_mode()
                os.chmod(self.path, mode)
                os.replace(self.path, self.target)
        finally:
            self.path.unlink(missing_ok=True)
