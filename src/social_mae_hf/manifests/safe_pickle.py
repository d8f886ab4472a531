"""Reading annotation pickles without running them.

`pickle.load` calls whatever a file names (`os.system`, any class's constructor), so a downloaded annotation file
is code. Every such call goes through `find_class` (globals, `REDUCE`, `INST`/`OBJ`, extension codes) or
`persistent_load`. Both are refused, which leaves only what the format builds itself: dicts, lists, tuples, sets,
strings, bytes, numbers, booleans and `None`.

One exception, for numbers: numpy scalars (`numpy.float64(0.54)`, as Python 2 tools wrote annotation scores) are
pickled as a call of `numpy.core.multiarray.scalar(numpy.dtype("f8"), raw bytes)`. Those two names are answered by
decoders here, which read the raw bytes of a numeric type with `struct` and return a Python number; numpy itself
is neither imported nor called. Every other name is refused.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
from pathlib import Path

__all__ = ["UnsafePickleError", "load_plain_pickle"]

# numpy dtype kind -> struct format per item size.
_STRUCT_FORMATS = {
    "f": {2: "e", 4: "f", 8: "d"},
    "i": {1: "b", 2: "h", 4: "i", 8: "q"},
    "u": {1: "B", 2: "H", 4: "I", 8: "Q"},
    "b": {1: "?"},
}
_DTYPE_NAME = re.compile(r"^(?P<kind>[fiub])(?P<size>\d+)$")


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle that asks for a global or a persistent object: refused before anything in it ran."""


class _NumericDtype:
    """What a pickle's `numpy.dtype(name, align, copy)` and its `BUILD` state give: a numeric type's layout."""

    def __init__(self, name, align=0, copy=1):
        match = _DTYPE_NAME.match(str(name))
        if match is None or int(match["size"]) not in _STRUCT_FORMATS[match["kind"]]:
            raise UnsafePickleError(f"numpy dtype {name!r} in the pickle is not a plain number type; refused")
        self.format = _STRUCT_FORMATS[match["kind"]][int(match["size"])]
        self.byte_order = "<"

    def __setstate__(self, state):
        order = state[1] if isinstance(state, tuple) and len(state) > 1 else None
        if order not in ("<", ">", "|", "="):
            raise UnsafePickleError(f"numpy dtype state {state!r} in the pickle is not a plain number type; refused")
        self.byte_order = "<" if order == "|" else order


def _numeric_scalar(dtype, data):
    """A Python number from the raw bytes of a pickled numpy scalar (Python 2's `str` arrives decoded as latin-1)."""
    if not isinstance(dtype, _NumericDtype):
        raise UnsafePickleError("a numpy scalar in the pickle has no plain number type; refused")
    raw = data.encode("latin1") if isinstance(data, str) else data
    if not isinstance(raw, bytes) or len(raw) != struct.calcsize(dtype.byte_order + dtype.format):
        raise UnsafePickleError("a numpy scalar in the pickle has the wrong number of bytes; refused")
    return struct.unpack(dtype.byte_order + dtype.format, raw)[0]


_NUMBER_GLOBALS = {
    ("numpy", "dtype"): _NumericDtype,
    ("numpy.core.multiarray", "scalar"): _numeric_scalar,
    ("numpy._core.multiarray", "scalar"): _numeric_scalar,
}


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) in _NUMBER_GLOBALS:
            return _NUMBER_GLOBALS[module, name]
        raise UnsafePickleError(
            f"{self.source}: the pickle asks for {module}.{name}; only plain containers, strings and numbers are "
            "allowed in an annotation file, so it was refused and nothing in it ran (is this the dataset's own file?)"
        )

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self.source}: the pickle asks for a persistent object {pid!r}; refused")


def load_plain_pickle(path: str | os.PathLike, *, encoding: str = "latin1"):
    """The object in a pickle of plain data only. `encoding="latin1"` reads Python 2's byte strings as text.

    Raises [`UnsafePickleError`] for a pickle that names any other global, `ValueError` for one that is not a pickle.
    """
    data = Path(path).read_bytes()
    try:
        return _PlainUnpickler(io.BytesIO(data), str(path), encoding=encoding).load()
    except UnsafePickleError as error:
        if str(path) in str(error):
            raise
        raise UnsafePickleError(f"{path}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, struct.error) as error:
        raise ValueError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from None
