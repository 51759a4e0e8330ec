"""From a distribution's support (a constraint) to the transform that reaches it.

References
----------
NumPyro, ``numpyro.distributions.transforms.biject_to`` (a support ->
transform registry); Stan Development Team, *Stan Reference Manual*,
"Constraint Transforms".

Examples
--------
>>> from posteria.distributions import constraints
>>> from posteria.transforms import transform_for
>>> transform_for(constraints.positive)
log
>>> transform_for(constraints.real) is None
True
"""

from __future__ import annotations

from typing import Callable

from posteria.distributions.constraints import Constraint
from posteria.transforms.bijectors import (
    Interval,
    LowerBound,
    Transform,
    UpperBound,
    log,
    logodds,
    ordered,
)
from posteria.transforms.matrix import CholeskyCorr, CholeskyCov, CorrMatrix, CovMatrix
from posteria.transforms.logratio import simplex

# Keyed by ``Constraint.name``: the value builds the transform from the constraint
# (bounds may be traced arrays, so a transform is built per call).
_TRANSFORM_BUILDERS: dict[str, Callable[[Constraint], Transform | None]] = {
    "real": lambda c: None,
    "real_vector": lambda c: None,
    "positive": lambda c: log,
    "nonnegative": lambda c: log,
    "greater_than": lambda c: LowerBound(c.lower),
    "greater_than_eq": lambda c: LowerBound(c.lower),
    "less_than": lambda c: UpperBound(c.upper),
    "interval": lambda c: Interval(c.lower, c.upper),
    "unit_interval": lambda c: logodds,
    "simplex": lambda c: simplex,
    "ordered_vector": lambda c: ordered,
    "corr_cholesky": lambda c: CholeskyCorr(),
    "corr_matrix": lambda c: CorrMatrix(),
    "cholesky_cov": lambda c: CholeskyCov(),
    "positive_definite": lambda c: CovMatrix(),
}


def transform_for(constraint: Constraint) -> Transform | None:
    """The transform from unconstrained space onto ``constraint``'s support.

    Parameters
    ----------
    constraint : Constraint
        A support from :mod:`posteria.distributions.constraints`.

    Returns
    -------
    Transform or None
        ``None`` for supports that are already unconstrained (``real``,
        ``real_vector``). Supports with a closed bound (``nonnegative``,
        ``greater_than_eq``) get the transform of the open one: the boundary
        has probability zero under a continuous distribution.

    Raises
    ------
    TypeError
        For discrete supports (they cannot be sampled by a gradient-based
        method) and for constraints with no registered transform; the message
        names the constraint.

    Examples
    --------
    >>> from posteria.distributions import constraints
    >>> from posteria.transforms import transform_for
    >>> t = transform_for(constraints.interval(-1.0, 1.0))
    >>> t.name, float(t.forward(0.0))
    ('interval', 0.0)
    >>> transform_for(constraints.boolean)
    Traceback (most recent call last):
    ...
    TypeError: constraint 'boolean' is discrete: it has no transform to an unconstrained space ...
    """
    if constraint.is_discrete:
        raise TypeError(
            f"constraint {constraint.name!r} is discrete: it has no transform to an unconstrained "
            "space (discrete variables cannot be sampled by NUTS or fitted by ADVI)"
        )
    builder = _TRANSFORM_BUILDERS.get(constraint.name)
    if builder is None:
        raise TypeError(f"no transform is registered for constraint {constraint.name!r}")
    return builder(constraint)
