"""MCMC kernels over a flat log density: integrators, metrics and NUTS.

Nothing here knows about models: every kernel takes ``logdensity_fn(position)``
over a flat 1-D array.
"""

from posteria.mcmc import integrators, metrics, nuts, pytree, trajectory
from posteria.mcmc.integrators import IntegratorState, energy, integrator_state, velocity_verlet
from posteria.mcmc.metrics import LowRankInverseMass, Metric, dense_inverse_mass_matrix, gaussian_euclidean
from posteria.mcmc.nuts import HMCState, NUTSInfo

__all__ = [
    "integrators",
    "metrics",
    "nuts",
    "pytree",
    "trajectory",
    "IntegratorState",
    "energy",
    "integrator_state",
    "velocity_verlet",
    "LowRankInverseMass",
    "Metric",
    "dense_inverse_mass_matrix",
    "gaussian_euclidean",
    "HMCState",
    "NUTSInfo",
]
