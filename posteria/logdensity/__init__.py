"""Model graph -> log density over a flat unconstrained vector."""

from posteria.logdensity.build import LogDensity, build_logdensity
from posteria.logdensity.walk import data_nodes, evaluate_model, resolve_transform
from posteria.logdensity.flatten import Slot, layout, ravel, unravel
from posteria.logdensity.initial import initial_point, initial_position_fn

__all__ = ["LogDensity", "Slot", "build_logdensity", "data_nodes", "evaluate_model", "initial_point", "initial_position_fn", "resolve_transform", "layout", "ravel", "unravel"]
