"""Bijectors between an unconstrained space and a distribution's support.

PyMC names are kept, so ``transform=pm.distributions.transforms.ordered``
becomes ``transform=posteria.transforms.ordered``.

Examples
--------
>>> from posteria.transforms import log, ordered, logodds, simplex, Interval, Chain
>>> float(logodds.forward(0.0))
0.5
"""

from posteria.transforms.bijectors import (
    IdentityTransform,
    Interval,
    LogOddsTransform,
    LogTransform,
    LowerBound,
    OrderedTransform,
    Transform,
    UpperBound,
    identity,
    log,
    logodds,
    ordered,
)
from posteria.transforms.chain import Chain
from posteria.transforms.matrix import CholeskyCorr, CholeskyCov, CorrMatrix, CovMatrix
from posteria.transforms.registry import transform_for
from posteria.transforms.logratio import SimplexTransform, simplex

__all__ = [
    "Chain",
    "CholeskyCorr",
    "CholeskyCov",
    "CorrMatrix",
    "CovMatrix",
    "IdentityTransform",
    "Interval",
    "LogOddsTransform",
    "LogTransform",
    "LowerBound",
    "OrderedTransform",
    "SimplexTransform",
    "Transform",
    "UpperBound",
    "identity",
    "log",
    "logodds",
    "ordered",
    "simplex",
    "transform_for",
]
