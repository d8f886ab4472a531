"""WebDataset-style tar shards of clips: where they are (brace patterns, folders, any fsspec URL), their index, and
reading their samples.

A shard is a plain tar file whose members are grouped into samples by key, as WebDataset does: a member's key is
its path up to the first dot of its file name, the rest is its extension (`00042.mp4` -> key `00042`, extension
`mp4`; `00042.input_values.npy` -> extension `input_values.npy`). The members of one sample are consecutive.
A sample holds:

- `KEY.json`: its targets, as the manifest row's columns (`{"label": "happy"}`, `{"pitch": 0.3, ...}`), plus
  `_source` / `_media` naming the row and file it was packed from; optional for pretraining;
- the media: one video (`mp4`, `mkv`, `webm`, `mov`, `avi`, `m4v`), used for its frames and its sound, and/or
  one audio file (`wav`, `flac`, `mp3`, `ogg`, `m4a`, `opus`) that replaces the video's sound;
- optionally, features computed when the shard was written (`precomputed.py`): `KEY.input_values.npy` (the
  audio's `input_values`) and `KEY.frames.npz` (the decoded frames the frame choice can pick).

`social-mae shard` writes one folder per split with an `index.json` next to the shards, last: their names, sample
counts, sizes and checksums, the task and classes, and the processor settings of precomputed features. A folder is
read through its index only (a folder without one, as a cut-short run leaves, is refused), and each shard is checked
against it. Shards made by other tools (no index) are named by a pattern, and counted once from their tar headers.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import posixpath
import re
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ManifestError

__all__ = [
    "AUDIO_EXTENSIONS",
    "SHARD_INDEX",
    "VIDEO_EXTENSIONS",
    "Shard",
    "ShardSample",
    "ShardSet",
    "check_against_index",
    "count_samples",
    "expand_braces",
    "iter_shard_samples",
    "open_shards",
    "split_member_name",
]

logger = logging.getLogger(__name__)

SHARD_INDEX = "index.json"
INDEX_FORMAT = "social-mae-shards/1"
VIDEO_EXTENSIONS = ("mp4", "mkv", "webm", "mov", "avi", "m4v")
AUDIO_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "m4a", "opus")
TARGETS_EXTENSION = "json"
# The most bytes read from one member (a 4K minute of H.264 is about 300 MB): a larger one is refused, not read.
MAX_MEMBER_BYTES = 2**31
_BRACE_RANGE = re.compile(r"^(-?\d+)\.\.(-?\d+)$")
_MEMBER = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")  # WebDataset's base_plus_ext


def expand_braces(pattern: str) -> list[str]:
    """Shell-style brace expansion, as WebDataset reads shard lists: `a-{000..002}.tar` -> `a-000.tar`, `a-001.tar`,
    `a-002.tar` (zero padding kept), `{train,val}.tar` -> `train.tar`, `val.tar`; nested and repeated braces too."""
    start = pattern.find("{")
    if start < 0:
        return [pattern]
    depth = 0
    for end in range(start, len(pattern)):
        depth += {"{": 1, "}": -1}.get(pattern[end], 0)
        if depth == 0:
            break
    else:
        raise ManifestError(f"shard pattern {pattern!r}: unbalanced braces")
    body, head, tail = pattern[start + 1 : end], pattern[:start], pattern[end + 1 :]
    match = _BRACE_RANGE.match(body)
    if match:
        first, last = match.groups()
        width = len(first) if first.lstrip("-").startswith("0") else 0
        step = 1 if int(last) >= int(first) else -1
        options = [str(n).zfill(width) for n in range(int(first), int(last) + step, step)]
    else:
        options, depth, part = [], 0, ""
        for char in body:  # split on top-level commas only
            if char == "," and depth == 0:
                options.append(part)
                part = ""
                continue
            depth += {"{": 1, "}": -1}.get(char, 0)
            part += char
        options.append(part)
    return [expanded for option in options for expanded in expand_braces(head + option + tail)]


def split_member_name(name: str) -> tuple[str | None, str | None]:
    """(key, extension) of a tar member, or (None, None) for a name without an extension."""
    match = _MEMBER.match(name)
    return (match.group(1), match.group(2)) if match else (None, None)


@dataclass(frozen=True)
class Shard:
    url: str
    num_samples: int


@dataclass
class ShardSet:
    """The shards of one split, in order, with their sample counts and what their index says.

    Attributes:
        shards: Each shard's URL (a local path or any fsspec URL) and sample count.
        index: The split's `index.json` (task, columns, classes, precomputed features and their processor
            settings); `{}` for shards without one.
        source: What the user named (for messages).
    """

    shards: list[Shard]
    index: dict = field(default_factory=dict)
    source: str = ""

    @property
    def num_samples(self) -> int:
        return sum(shard.num_samples for shard in self.shards)

    @property
    def features(self) -> tuple[str, ...]:
        """Features precomputed in every sample (`"input_values"`, `"frames"`)."""
        return tuple(self.index.get("features", ()))

    @property
    def class_names(self) -> set[str] | None:
        """The classes of the split's clips (classification, multi-label), from the index; `None` when unknown."""
        counts = self.index.get("classes")
        return set(counts) if counts is not None else None

    @property
    def class_counts(self) -> dict[str, int] | None:
        """Clips per class of exactly these samples; `None` when unknown (no index, or only some samples)."""
        return None if self.index.get("partial") else self.index.get("classes")

    def limited(self, max_samples: int | None) -> ShardSet:
        """The first `max_samples` samples (the last shard used is read only in part)."""
        if max_samples is None or max_samples >= self.num_samples:
            return self
        kept, left = [], max_samples
        for shard in self.shards:
            if left <= 0:
                break
            kept.append(Shard(shard.url, min(shard.num_samples, left)))
            left -= shard.num_samples
        return ShardSet(kept, {**self.index, "partial": True}, f"the first {max_samples} samples of {self.source}")


def _open(url: str, mode: str = "rb"):
    import fsspec

    return fsspec.open(url, mode)


def _exists(url: str) -> bool:
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    return fs.isfile(path)


def _join(base: str, name: str) -> str:
    """`name` (relative to `base`, a folder path or URL) as a path or URL."""
    if "://" in name or Path(name).is_absolute():
        return name
    return posixpath.join(base, name) if "://" in base else str(Path(base).expanduser() / name)


def _parent(url: str) -> str:
    return posixpath.dirname(url.rstrip("/")) if "://" in url else str(Path(url).expanduser().parent)


def read_index(url: str) -> dict:
    """A split's `index.json`, checked."""
    try:
        with _open(url, "r") as handle:
            index = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ManifestError(f"{url}: cannot read the shard index ({type(error).__name__}: {error})") from error
    shards = index.get("shards") if isinstance(index, dict) else None
    if index.get("format") != INDEX_FORMAT or not isinstance(shards, list):
        raise ManifestError(f"{url}: not a shard index of {INDEX_FORMAT} (written by `social-mae shard`)")
    for entry in shards:
        if not isinstance(entry, dict) or not isinstance(entry.get("num_samples"), int) or not entry.get("name"):
            raise ManifestError(f"{url}: shard entry {entry!r} needs a name and an integer num_samples")
    if sum(entry["num_samples"] for entry in shards) != index.get("num_samples"):
        raise ManifestError(
            f"{url}: incomplete index: its shards hold {sum(e['num_samples'] for e in shards)} samples, it says "
            f"{index.get('num_samples')}; write the shards again (`social-mae shard --overwrite`)"
        )
    return index


def check_against_index(url: str, entry: dict) -> None:
    """Refuse a shard that is not the one its index lists: missing, of another size, or (local files, whose tar
    headers are read quickly) holding another number of samples."""
    import fsspec

    fs, path = fsspec.core.url_to_fs(url)
    try:
        size = fs.size(path)
    except (OSError, FileNotFoundError):
        raise ManifestError(f"shard {url}: listed in its {SHARD_INDEX} but missing; write the shards again") from None
    if entry.get("num_bytes") is not None and size != entry["num_bytes"]:
        raise ManifestError(
            f"shard {url}: {size} bytes, its {SHARD_INDEX} says {entry['num_bytes']} (changed or cut short after "
            "the index was written); write the shards again"
        )
    if "file" in fs.protocol and (count := count_samples(url)) != entry["num_samples"]:
        raise ManifestError(
            f"shard {url}: holds {count} samples, its {SHARD_INDEX} says {entry['num_samples']}; write the shards again"
        )


def _glob(pattern: str) -> list[str]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(pattern)
    found = sorted(fs.glob(path))
    protocol = pattern.split("://", 1)[0] + "://" if "://" in pattern else ""
    return [protocol + p if protocol and not p.startswith(protocol) else p for p in found]


def open_shards(spec: str | Sequence[str], *, count_missing: bool = True) -> ShardSet:
    """The shards `spec` names, with sample counts.

    `spec` is a split folder (or URL) holding an `index.json`, that `index.json` itself, a brace pattern or glob
    of tar files (`shards/train-{000000..000099}.tar`, `s3://bucket/train-*.tar`), or a list of them. Counts come
    from the index next to the shards when it lists them; otherwise each shard's tar headers are read once
    (`count_missing`).
    """
    specs = [spec] if isinstance(spec, str) else list(spec)
    if not specs:
        raise ManifestError("no shards given")
    urls: list[str] = []
    index: dict = {}
    index_base = None
    for item in specs:
        item = item.strip()
        if item.endswith(SHARD_INDEX):
            index, index_base = read_index(item), _parent(item)
            urls.extend(_join(index_base, entry["name"]) for entry in index["shards"])
            continue
        expanded = expand_braces(item)
        if len(expanded) == 1 and not expanded[0].endswith(".tar") and not any(c in expanded[0] for c in "*?["):
            folder = expanded[0].rstrip("/")
            candidate = _join(folder, SHARD_INDEX)
            if not _exists(candidate):
                raise ManifestError(
                    f"--*_shards {item!r}: no {SHARD_INDEX} in that folder (a `social-mae shard` run that did not "
                    "finish writes none: run it again with --overwrite). For shards made by another tool, name the "
                    f"files with a pattern such as '{_join(folder, '*.tar')}'"
                )
            index, index_base = read_index(candidate), folder
            urls.extend(_join(folder, entry["name"]) for entry in index["shards"])
            continue
        for url in expanded:
            urls.extend(_glob(url) if any(c in url for c in "*?[") else [url])
    if not urls:
        raise ManifestError(f"shards {spec!r}: the pattern matches no file")
    if not index:  # an index next to the shards names them and their counts
        folder = _parent(urls[0])
        candidate = _join(folder, SHARD_INDEX)
        if all(_parent(url) == folder for url in urls) and _exists(candidate):
            index, index_base = read_index(candidate), folder
    counts = {}
    if index:
        entries = {_join(index_base, entry["name"]): entry for entry in index["shards"]}
        if not all(url in entries for url in urls):
            index = {}  # another set of shards than the index describes: use none of it
        else:
            for url in urls:
                check_against_index(url, entries[url])
                counts[url] = entries[url]["num_samples"]
            if len(urls) < len(entries):
                index = {**index, "partial": True}  # its class counts are those of all its shards
    missing = [url for url in urls if url not in counts]
    if missing:
        if not count_missing:
            raise ManifestError(f"shards {spec!r}: no {SHARD_INDEX} gives their sample counts")
        started = time.perf_counter()
        for url in missing:
            counts[url] = count_samples(url)
        logger.info(
            "Counted the samples of %d shard(s) without an %s (%.1f s): %d samples",
            len(missing),
            SHARD_INDEX,
            time.perf_counter() - started,
            sum(counts[url] for url in missing),
        )
    shards = [Shard(url, counts[url]) for url in urls]
    if sum(shard.num_samples for shard in shards) == 0:
        raise ManifestError(f"shards {spec!r}: no samples in {len(shards)} shard(s)")
    source = spec if isinstance(spec, str) else ", ".join(spec)
    return ShardSet(shards, index, source)


@dataclass
class ShardSample:
    """One sample of a shard: where it is and the bytes of the members that were read (by extension)."""

    url: str
    key: str
    position: int  # its place among the shard's samples
    members: dict[str, bytes]

    @property
    def name(self) -> str:
        return f"shard {self.url} key {self.key!r}"


@contextmanager
def _open_tar(url: str) -> Iterator[tarfile.TarFile]:
    """A shard opened for reading members in order (seeking past the data of those not read)."""
    with _open(url) as handle:
        try:
            tar = tarfile.open(fileobj=handle, mode="r:")  # noqa: SIM115 (closed below, after the error check)
        except tarfile.TarError as error:
            raise ManifestError(f"shard {url}: not a readable tar file ({error})") from error
        with tar:
            yield tar


def _members(tar: tarfile.TarFile, url: str = "") -> Iterator[tuple[str, str, tarfile.TarInfo]]:
    key = None
    try:
        for info in tar:
            if not info.isfile():
                continue
            key, extension = split_member_name(info.name)
            if key is not None:
                yield key, extension, info
    except (tarfile.TarError, EOFError) as error:
        after = f" after key {key!r}" if key is not None else ""
        raise ManifestError(f"shard {url}: unreadable{after} ({error}); the shard is damaged or truncated") from None


def iter_shard_samples(
    url: str,
    *,
    wanted: Callable[[str], bool] | None = None,
    start: int = 0,
    stop: int | None = None,
    read: Callable[[int], bool] | None = None,
) -> Iterator[ShardSample]:
    """The samples of one shard from position `start` to `stop` (exclusive), in order.

    Only members whose extension `wanted` accepts are read, and only for samples whose position `read` accepts;
    the others are passed over without reading their data (a seek, for files and seekable fsspec URLs).
    """
    stop = float("inf") if stop is None else stop
    with _open_tar(url) as tar:
        position, key, members = -1, None, {}
        for member_key, extension, info in _members(tar, url):
            if member_key != key:
                if key is not None and start <= position < stop and (read is None or read(position)):
                    yield ShardSample(url, key, position, members)
                position, key, members = position + 1, member_key, {}
                if position >= stop:
                    return
            if position < start or (read is not None and not read(position)):
                continue
            if wanted is None or wanted(extension):
                if extension in members:
                    raise ManifestError(f"shard {url}: key {key!r} has two {extension!r} members")
                if info.size > MAX_MEMBER_BYTES:
                    raise ManifestError(
                        f"shard {url}: key {key!r} member {extension!r} is {info.size} bytes, more than the "
                        f"{MAX_MEMBER_BYTES} read from one member"
                    )
                try:
                    data = tar.extractfile(info).read(info.size)
                except (tarfile.ReadError, EOFError):
                    data = b""
                if len(data) != info.size:
                    raise ManifestError(
                        f"shard {url}: key {key!r} member {extension!r} is cut short (fewer than its {info.size} "
                        "bytes): the shard is truncated; write the shards again"
                    )
                members[extension] = data
        if key is not None and start <= position < stop and (read is None or read(position)):
            yield ShardSample(url, key, position, members)
        if stop != float("inf") and position + 1 < stop:
            raise ManifestError(
                f"shard {url} has {position + 1} samples, fewer than the {stop} its index lists: the shard "
                "changed after the index was written; write the shards again"
            )


def count_samples(url: str) -> int:
    """Samples in one shard, from its tar headers only."""
    with _open_tar(url) as tar:
        return sum(1 for _ in itertools.groupby(_members(tar, url), key=lambda member: member[0]))


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add `data` as member `name`, with fixed metadata so that the same clips give the same shard bytes."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def member_json(members: dict[str, bytes], name: str) -> dict[str, Any]:
    """The sample's `json` member as a dict (`{}` when it has none)."""
    data = members.get(TARGETS_EXTENSION)
    if data is None:
        return {}
    try:
        row = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{name}: its json member does not read as JSON ({error})") from None
    if not isinstance(row, dict):
        raise ManifestError(f"{name}: its json member must be an object, got {type(row).__name__}")
    return row
