"""User model -> graph: the model context, named variables and expressions."""

from posteria.model.core import (
    ConstantData,
    Data,
    Deterministic,
    Model,
    MutableData,
    Potential,
    modelcontext,
    set_data,
)
from posteria.model.graph import Apply, Constant, Node, Variable, apply
from posteria.model.variables import DataVariable, DeterministicVariable, DistributionNode, PotentialVariable, RandomVariable

__all__ = [
    "Apply", "Constant", "ConstantData", "Data", "DataVariable", "Deterministic", "DeterministicVariable",
    "DistributionNode", "Model", "MutableData", "Node", "Potential", "PotentialVariable", "RandomVariable",
    "Variable", "apply", "modelcontext", "set_data",
]
