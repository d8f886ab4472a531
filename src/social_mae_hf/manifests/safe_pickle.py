"""Reading annotation pickles without running them.

`pickle.load` calls whatever a file names (`os.system`, any class's constructor), so a downloaded annotation file
is code. Every such call goes through `find_class` (globals, `REDUCE`, `INST`/`OBJ`, extension codes) or
`persistent_load`; refusing both leaves only what the format builds itself: dicts, lists, tuples, sets, strings,
bytes, numbers, booleans and `None`.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

__all__ = ["UnsafePickleError", "load_plain_pickle"]


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that asks for a global or a persistent object: refused before anything in it ran."""


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str):
        raise UnsafePickleError(
            f"{self.source}: the pickle asks for {module}.{name}; only plain containers, strings and numbers are "
            "allowed in an annotation file, so it was refused and nothing in it ran (is this the dataset's own file?)"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.source}: the pickle asks for a persistent object {pid!r}; refused")


def load_plain_pickle(path: str | os.PathLike, *, encoding: str = "latin1"):
    """The object in a pickle of plain data only. `encoding="latin1"` reads Python 2's byte strings as text.

    Raises [`UnsafePickleError`] for a pickle that names any global, `ValueError` for one that is not a pickle.
    """
    data = Path(path).read_bytes()
    try:
        return _PlainUnpickler(io.BytesIO(data), str(path), encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError) as error:
        raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
