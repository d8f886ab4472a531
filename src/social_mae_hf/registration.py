"""Registration with transformers, done when transformers' machinery is imported rather than when this package is.

`import social_mae_hf` must leave transformers knowing our config, models, processors and pipelines (its
Auto classes, `save_pretrained`'s remote-code files, `pipeline()`). Registering needs torch and transformers'
Auto modules, about 4 s, which importing the package alone (and `social-mae --help`) should not pay. So:

- a part is due once transformers has imported its registry (the Auto classes: `transformers.models.auto`; the
  pipelines: `transformers.pipelines`) or one of our classes that it registers is imported (so that a feature
  extractor or config saved alone is marked for its Auto class and carries its code);
- what is due when the package is imported is registered at once; until everything is registered, a finder on
  `sys.meta_path` watches imports of `transformers` and `social_mae_hf` modules and, at the end of the outermost
  one (when no module that registering imports is half-initialised), registers what has become due. Then the
  finder removes itself.

Every path to transformers' registries imports those modules first (`AutoConfig`, `AutoModel`, ...,
`pipeline`), so registration is never late. `register()` does everything now, for who wants it explicit.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys

__all__ = ["register", "register_when_transformers_is_used"]

logger = logging.getLogger(__name__)

_WATCHED = frozenset({"transformers", "social_mae_hf"})
_AUTO_CLASSES, _PIPELINES = "Auto classes", "pipelines"
# Part -> modules whose import makes it due: transformers' registry, or our classes that the part registers.
_TRIGGERS = {
    _AUTO_CLASSES: (
        "transformers.models.auto",
        "social_mae_hf.configuration_social_mae",
        "social_mae_hf.feature_extraction_social_mae",
        "social_mae_hf.video_processing_social_mae",
        "social_mae_hf.processing_social_mae",
        "social_mae_hf.modeling_social_mae",
    ),
    _PIPELINES: ("transformers.pipelines",),
}


class _State:
    registered: set[str] = set()  # parts done: _AUTO_CLASSES, _PIPELINES
    depth = 0  # watched imports under way
    busy = False  # registering (its own imports must not start it again)


def _register_auto_classes() -> None:
    from .auto import register_auto_classes

    register_auto_classes()


def _register_pipelines() -> None:
    from .pipelines import register_pipelines

    register_pipelines()


_PARTS = {_AUTO_CLASSES: _register_auto_classes, _PIPELINES: _register_pipelines}


def register() -> None:
    """Register everything with transformers now (idempotent); importing the package arranges it by itself."""
    for part, register_part in _PARTS.items():
        register_part()
        _State.registered.add(part)
    _uninstall()


def _register_due() -> None:
    """Register the parts that are due; a half-imported dependency defers to next time."""
    if _State.busy:
        return
    _State.busy = True
    try:
        for part, register_part in _PARTS.items():
            if part not in _State.registered and any(module in sys.modules for module in _TRIGGERS[part]):
                register_part()
                _State.registered.add(part)
    except (ImportError, AttributeError) as error:  # a module of the chain is still being imported elsewhere
        logger.debug("social_mae_hf: registration deferred (%s)", error)
    finally:
        _State.busy = False
    if _State.registered == set(_PARTS):
        _uninstall()


class _Loader(importlib.abc.Loader):
    """A module's own loader, counting watched imports under way and registering at the end of the outermost."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        _State.depth += 1
        try:
            self._loader.exec_module(module)
        finally:
            _State.depth -= 1
        if _State.depth == 0:
            _register_due()

    def __getattr__(self, name):  # get_source, get_filename, is_package, get_resource_reader, ...
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds watched modules with the other finders and gives their specs a counting loader."""

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] not in _WATCHED:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)
                return spec
        return None


_FINDER = _Finder()


def _uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def register_when_transformers_is_used() -> None:
    """Register what transformers has imported now, and the rest when it imports it (see the module docstring)."""
    _register_due()
    if _State.registered != set(_PARTS) and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
