"""Distribution families (see :mod:`posteria.distributions.base` for the interface)."""

from posteria.distributions import constraints
from posteria.distributions.base import BoundDistribution, Distribution, draw, logp
from posteria.distributions.continuous import HalfNormal, Normal

__all__ = ["BoundDistribution", "Distribution", "HalfNormal", "Normal", "constraints", "draw", "logp"]
