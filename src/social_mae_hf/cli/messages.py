"""Library errors in the words of the command line.

The package's errors give hints as Python keywords (`pass modalities='video' or missing_audio='drop'`, "`top_k`
must be ..."), which is right for a Python caller. A command's user should read its flags instead
(`--modalities video or --missing-audio drop`), and the training scripts' `--split_column` is `social-mae shard`'s
`--split-column`. Each command's parser knows both names of every option (the keyword is the option's `dest`), so
the command line rewrites the hints of the command that ran, and nothing else.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["keyword_flags", "with_flags"]

# `name=value`, the value quoted or running to a space, comma, semicolon, parenthesis or sentence end; not inside
# a path (a partitioned folder such as `runs/top_k=5/`): neither after a separator nor with one in the value.
# `name=` before a comma or semicolon ("needs audio_stream=;") asks for the option, its value left to the reader.
_KEYWORD_VALUE = re.compile(
    r"(?<![\w/\\-])(?P<name>[A-Za-z_]\w*)="
    r"(?:'(?P<single>[^']*)'|\"(?P<double>[^\"]*)\"|(?P<bare>[^\s,;)'\"/\\]+?)|(?P<empty>)(?=[;,]))"
    r"(?=[\s,;)]|[:.](?:\s|$)|$)"
)
_BACKTICKED = re.compile(r"`(?P<name>[A-Za-z_]\w*)`")
# A training script's option (`--split_column`): the same keyword, spelled as that script's flag.
_SCRIPT_FLAG = re.compile(r"(?<![\w-])--(?P<name>[A-Za-z]\w*)(?![\w-])")


def keyword_flags(
    parser: argparse.ArgumentParser, aliases: dict[str, str] | None = None
) -> dict[str, tuple[str, bool]]:
    """keyword -> (flag, whether it takes a value) for the optional arguments of `parser`; `aliases` adds library
    keywords whose name differs from the option's (keyword -> flag)."""
    flags = {}
    for action in parser._actions:
        long_options = [option for option in action.option_strings if option.startswith("--")]
        if long_options and action.dest != "help":
            flags[action.dest] = (long_options[0], action.nargs != 0)
    for keyword, flag in (aliases or {}).items():
        flags[keyword] = (flag, flags.get(flag.removeprefix("--").replace("-", "_"), (flag, True))[1])
    return flags


def with_flags(message: str, flags: dict[str, tuple[str, bool]]) -> str:
    """`message` with the keywords of `flags` written as flags: `missing_audio='drop'` -> `--missing-audio drop`,
    `` `top_k` `` -> `--top-k`, `--split_column` -> `--split-column`."""

    def keyword_value(match: re.Match) -> str:
        if match["name"] not in flags:
            return match[0]
        flag, takes_value = flags[match["name"]]
        value = next(v for v in (match["single"], match["double"], match["bare"], match["empty"]) if v is not None)
        return f"{flag} {value}" if takes_value and value else flag

    def flag(match: re.Match) -> str:
        return flags[match["name"]][0] if match["name"] in flags else match[0]

    message = _KEYWORD_VALUE.sub(keyword_value, message)
    return _SCRIPT_FLAG.sub(flag, _BACKTICKED.sub(flag, message))
