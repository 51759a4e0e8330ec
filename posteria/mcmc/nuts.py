"""The No-U-Turn Sampler kernel (multinomial NUTS, as Stan defines it).

The kernel knows nothing of models: it takes ``logdensity_fn(position)``, the
positive log density of a flat 1-D array. It is a pure function of its
arguments, so it can be jit-compiled, run inside ``lax.scan`` and vmapped.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from posteria.mcmc.integrators import energy, integrator_state, velocity_verlet
from posteria.mcmc.metrics import gaussian_euclidean
from posteria.mcmc.trajectory import build_trajectory

Array = jax.Array

__all__ = ["HMCState", "NUTSInfo", "init", "build_kernel", "blank_info"]


class HMCState(NamedTuple):
    """The state of a Hamiltonian Monte Carlo chain between transitions.

    Attributes
    ----------
    position
        Flat 1-D array of unconstrained parameters.
    logdensity
        Log density at ``position``.
    logdensity_grad
        Gradient of the log density at ``position``.
    """

    position: Array
    logdensity: Array
    logdensity_grad: Array


class NUTSInfo(NamedTuple):
    """What one NUTS transition did.

    Attributes
    ----------
    momentum
        Momentum of the selected state (the one ``energy`` is computed with).
    is_divergent
        Whether a leapfrog step had an energy error above the threshold, or NaN.
    is_turning
        Whether the trajectory stopped on a U-turn (not on divergence or the
        depth limit).
    energy
        Hamiltonian ``-logdensity + kinetic energy`` at the selected state
        (Stan's ``energy__``, used for E-BFMI).
    energy_error
        ``energy`` minus the Hamiltonian at the start of the transition.
    num_integration_steps
        Leapfrog steps (gradient evaluations) taken, including those of a
        rejected last subtree; ``2**tree_depth - 1 <= num_integration_steps
        <= 2**(tree_depth + 1) - 1``.
    tree_depth
        Number of doublings merged into the trajectory (Stan's
        ``treedepth__``; ``max_tree_depth`` means the limit was hit).
    acceptance_rate
        Mean over all the leapfrog states of ``min(1, exp(H0 - H))``.
    """

    momentum: Array
    is_divergent: Array
    is_turning: Array
    energy: Array
    energy_error: Array
    num_integration_steps: Array
    tree_depth: Array
    acceptance_rate: Array


def blank_info(state: HMCState) -> NUTSInfo:
    """Zeros typed as the info of a kernel call from ``state``: with ``state``, a loop's first carry, untraced.

    A loop around a kernel call needs a carry of the call's types before the
    call. The kernel's new state has the types of ``state``; this gives the
    info's without tracing the kernel a second time (a tenth of a small
    model's tracing time).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> state = init(jnp.zeros(3), logdensity_fn)
    >>> kernel = build_kernel()
    >>> traced = jax.eval_shape(lambda s: kernel(jax.random.key(0), s, logdensity_fn, 0.5, jnp.ones(3)), state)
    >>> def types(tree):
    ...     return [(leaf.shape, leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree)]
    >>> types((state, blank_info(state))) == types(traced)
    True
    """
    real = jnp.zeros_like(state.logdensity)
    false, zero = jnp.zeros((), bool), jnp.zeros((), jnp.int32)
    return NUTSInfo(jnp.zeros_like(state.position), false, false, real, real, zero, zero, real)


def init(position: Array, logdensity_fn: Callable[[Array], Array]) -> HMCState:
    """Create the chain state at a position.

    Parameters
    ----------
    position
        Flat 1-D array.
    logdensity_fn
        ``position -> log density``.

    Returns
    -------
    HMCState
        The position with its log density and gradient.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> state = init(jnp.array([1.0, 2.0]), lambda x: -0.5 * jnp.sum(x**2))
    >>> float(state.logdensity), state.logdensity_grad.tolist()
    (-2.5, [-1.0, -2.0])
    """
    logdensity, logdensity_grad = jax.value_and_grad(logdensity_fn)(position)
    return HMCState(position, logdensity, logdensity_grad)


def build_kernel(
    max_tree_depth: int = 10, divergence_threshold: float = 1000.0
) -> Callable[[Array, HMCState, Callable[[Array], Array], Array, Array], tuple[HMCState, NUTSInfo]]:
    """Build a NUTS transition kernel.

    One transition draws a momentum ``p ~ N(0, M)``, builds a trajectory by
    repeated doubling in random directions until the generalized no-U-turn
    criterion fails (checked for every merge of subtrees, across their
    junction as well as between their ends), a step diverges, or
    ``max_tree_depth`` doublings are done, and selects the new state among
    the trajectory's states: multinomially within each subtree and by biased
    progressive sampling between the old trajectory and the new subtree.

    Parameters
    ----------
    max_tree_depth
        Maximum number of doublings (at most ``2**max_tree_depth - 1``
        leapfrog steps per transition).
    divergence_threshold
        A leapfrog step whose energy error ``H - H0`` exceeds this (or is NaN)
        is divergent: the trajectory stops and the draw is taken from the
        states before the divergent subtree.

    Returns
    -------
    kernel : callable
        ``kernel(rng_key, state, logdensity_fn, step_size, inverse_mass_matrix,
        depth_limit=None) -> (HMCState, NUTSInfo)``; ``inverse_mass_matrix`` is
        1-D (diagonal), 2-D (dense) or a ``LowRankInverseMass``; ``depth_limit``
        optionally lowers ``max_tree_depth`` at run time (a traced int).

    Raises
    ------
    ValueError
        If ``max_tree_depth`` is not a positive integer.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15.
    Betancourt, M. (2017). A Conceptual Introduction to Hamiltonian Monte
    Carlo, appendix A. arXiv:1701.02434. Stan's ``base_nuts.hpp``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> kernel = build_kernel()
    >>> step = jax.jit(lambda key, state: kernel(key, state, logdensity_fn, 0.7, jnp.ones(3)))
    >>> state = init(jnp.zeros(3), logdensity_fn)
    >>> state, info = step(jax.random.key(0), state)
    >>> state.position.shape, bool(info.is_divergent), int(info.num_integration_steps) >= 1
    ((3,), False, True)
    """
    if not isinstance(max_tree_depth, int) or max_tree_depth < 1:
        raise ValueError(f"max_tree_depth must be a positive integer, got {max_tree_depth!r}")

    def kernel(
        rng_key: Array,
        state: HMCState,
        logdensity_fn: Callable[[Array], Array],
        step_size: Array,
        inverse_mass_matrix: Array,
        depth_limit: Array | int | None = None,
    ) -> tuple[HMCState, NUTSInfo]:
        metric = gaussian_euclidean(inverse_mass_matrix)
        step_fn = velocity_verlet(logdensity_fn, metric.velocity_fn)
        key_momentum, key_trajectory = jax.random.split(rng_key)
        momentum = metric.sample_momentum_fn(key_momentum, state.position)
        initial_state = integrator_state(
            state.position, momentum, state.logdensity, state.logdensity_grad, metric.velocity_fn
        )
        initial_energy = energy(initial_state)
        trajectory = build_trajectory(
            key_trajectory, initial_state, step_fn, metric, step_size, max_tree_depth, divergence_threshold,
            depth_limit,
        )
        proposal = trajectory.proposal
        info = NUTSInfo(
            momentum=proposal.momentum,
            is_divergent=trajectory.is_divergent,
            is_turning=trajectory.is_turning,
            energy=trajectory.proposal_energy,
            energy_error=trajectory.proposal_energy - initial_energy,
            num_integration_steps=trajectory.num_steps,
            tree_depth=trajectory.depth,
            acceptance_rate=trajectory.sum_accept_prob / trajectory.num_steps,
        )
        return HMCState(proposal.position, proposal.logdensity, proposal.logdensity_grad), info

    return kernel
