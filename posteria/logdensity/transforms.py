"""Which transform a free variable is sampled through."""

from __future__ import annotations

from typing import Any

from posteria.model.variables import DEFAULT_TRANSFORM


def resolve_transform(rv, bound) -> Any:
    """The variable's transform: the user's, none, or the registry's for its support."""
    from posteria.transforms import transform_for

    if rv.transform is DEFAULT_TRANSFORM:
        return transform_for(bound.support)
    return rv.transform
