"""JAX's persistent compilation cache, on by default.

Compiling the NUTS program is most of the wall time on small models. With the
cache on, a process that fits a model of the same structure and shapes as an
earlier process loads the compiled program from disk instead of compiling it.

Where the cache lives, first match wins:

1. ``POSTERIA_COMPILATION_CACHE``: a directory, or ``off`` (also ``0``,
   ``false``, ``none``) to switch the cache off;
2. JAX's own setting (``JAX_COMPILATION_CACHE_DIR`` or
   ``jax.config.update("jax_compilation_cache_dir", ...)``), left as it is;
3. ``$XDG_CACHE_HOME/posteria/jax`` (``~/.cache/posteria/jax``).

:func:`set_compilation_cache` changes it at run time. The cache is trusted
code: keep it in a directory only you can write to.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache as _jax_cache

_OFF = {"0", "off", "false", "none", "no"}
_MIN_COMPILE_SECONDS = 0.5  # JAX's default (1 s) skips the NUTS program of the smallest models


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/posteria/jax``, or ``~/.cache/posteria/jax``.

    Examples
    --------
    >>> default_cache_dir().parts[-2:]
    ('posteria', 'jax')
    """
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "posteria" / "jax"


def compilation_cache_dir() -> str | None:
    """The persistent cache directory in use, or ``None`` when the cache is off.

    Examples
    --------
    >>> import posteria as pa
    >>> previous = pa.compilation_cache_dir()
    >>> pa.set_compilation_cache(None) is None, pa.compilation_cache_dir() is None
    (True, True)
    >>> _ = pa.set_compilation_cache(previous)
    """
    if not jax.config.jax_enable_compilation_cache:
        return None
    return jax.config.jax_compilation_cache_dir


def set_compilation_cache(path: str | os.PathLike | None) -> str | None:
    """Keep compiled programs in ``path`` across processes; ``None`` switches the cache off.

    Returns the directory now in use (``None`` when off). Takes effect for the
    next compilation, also after earlier ones in this process.

    Examples
    --------
    >>> import tempfile, posteria as pa
    >>> previous = pa.compilation_cache_dir()
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     pa.set_compilation_cache(tmp) == tmp
    ...     _ = pa.set_compilation_cache(previous)
    True
    """
    if path is None:
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        path = os.fspath(path)
        Path(path).mkdir(parents=True, exist_ok=True)
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", path)
        if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # JAX's default, not the user's choice
            jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_COMPILE_SECONDS)
    _jax_cache.reset_cache()
    return compilation_cache_dir()


def configure_from_environment() -> str | None:
    """Apply ``POSTERIA_COMPILATION_CACHE`` (or the default) unless JAX's own setting is there.

    Called once when posteria is imported; returns the directory in use.

    Examples
    --------
    >>> import posteria as pa
    >>> pa.compilation_cache.configure_from_environment() == pa.compilation_cache_dir()
    True
    """
    setting = os.environ.get("POSTERIA_COMPILATION_CACHE")
    if setting is not None:
        return set_compilation_cache(None if setting.strip().lower() in _OFF or not setting.strip() else setting)
    if jax.config.jax_compilation_cache_dir:
        return compilation_cache_dir()
    try:
        return set_compilation_cache(default_cache_dir())
    except OSError:  # an unwritable home: run without the cache
        return set_compilation_cache(None)
