"""A settings file's misspelled key (`num_mel_bin`) would otherwise be kept as an unused attribute, silently."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable

__all__ = ["warn_unknown_settings"]

logger = logging.getLogger(__name__)

# What transformers writes into every settings file besides the settings themselves.
BOOKKEEPING_KEYS = frozenset(
    {"auto_map", "processor_class", "feature_extractor_type", "video_processor_type", "image_processor_type"}
)


def warn_unknown_settings(owner: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Warn once per key of `given` that is neither in `known` nor bookkeeping, naming the closest known key."""
    known = set(known)
    for key in sorted(set(given) - known - BOOKKEEPING_KEYS):
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        logger.warning("%s: unknown setting %r is not used%s", owner, key, hint)
