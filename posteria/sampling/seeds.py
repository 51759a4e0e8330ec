"""Seeds: one integer per run, from ``seed`` or PyMC's ``random_seed``."""

from __future__ import annotations

from typing import Any

import numpy as np


def resolve_seed(seed: Any = None, random_seed: Any = None) -> int:
    """One integer seed from ``seed`` or ``random_seed`` (int, sequence of ints, Generator or None).

    ``None`` draws fresh entropy, so runs differ; an int makes them repeat exactly.

    Examples
    --------
    >>> resolve_seed(7), resolve_seed(None, 7), resolve_seed([7, 8]) == resolve_seed([7, 8])
    (7, 7, True)
    """
    if seed is not None and random_seed is not None and seed != random_seed:
        raise ValueError("give seed or random_seed, not both")
    value = seed if seed is not None else random_seed
    if value is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(value, np.random.Generator):
        return int(value.integers(2**31 - 1))
    if isinstance(value, (list, tuple, np.ndarray)):
        return int(np.random.SeedSequence([int(v) for v in value]).generate_state(1)[0])
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"seed must be an int, a sequence of ints, a numpy Generator or None, got {type(value).__name__}")
