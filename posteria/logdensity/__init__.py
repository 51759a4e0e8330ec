"""Model graph -> log density over a flat unconstrained vector."""

from posteria.logdensity.build import LogDensity, build_logdensity, data_nodes, evaluate_model
from posteria.logdensity.flatten import Slot, layout, ravel, unravel
from posteria.logdensity.initial import initial_point

__all__ = ["LogDensity", "Slot", "build_logdensity", "data_nodes", "evaluate_model", "initial_point", "layout", "ravel", "unravel"]
