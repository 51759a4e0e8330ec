"""Iterative construction of a NUTS trajectory, as Stan builds it.

The trajectory doubles in a random direction until the generalized no-U-turn
criterion fails, a leapfrog step diverges, or ``max_tree_depth`` doublings
are done. Each doubling integrates a new subtree of ``2**depth`` leapfrog
steps, one step at a time inside a ``lax.while_loop``; the U-turn checks of
all the nested sub-subtrees are done as their last leaf is reached, from a
small checkpoint array, so the compiled graph holds a single leapfrog step.

Numbering the leaves of a subtree ``i = 0, 1, ...`` in integration order, a
sub-subtree of level ``k`` (``2**k`` leaves) spans the leaves
``a .. a + 2**k - 1`` with ``a`` a multiple of ``2**k``; it is complete when
``(i + 1) % 2**k == 0``. For every level ``k`` the checkpoints keep

* at its first leaf ``a``: the momentum sum before ``a``, the momentum and the
  sharp momentum (``i % 2**k == 0`` writes them);
* at the last leaf of its first half, ``a + 2**(k-1) - 1``: the momentum and
  the sharp momentum (``i % 2**k == 2**(k-1) - 1`` writes them).

That is all Stan's three checks of a merge need: the whole sub-subtree, its
first half with the first leaf of the second half, and its second half with
the last leaf of the first half. The same three checks are done when a new
subtree is merged into the trajectory.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from posteria.mcmc.integrators import IntegratorState
from posteria.mcmc.metrics import Metric

Array = jax.Array

__all__ = ["TrajectoryState", "build_trajectory"]


class TrajectoryState(NamedTuple):
    """A NUTS trajectory under construction, and its result.

    Attributes
    ----------
    left, right
        The states at the two ends (backward and forward in time).
    left_velocity, right_velocity
        Sharp momenta ``M^{-1} p`` at the two ends.
    momentum_sum
        Sum of the momenta of all the states in the trajectory (Stan's rho).
    log_sum_weight
        Log of the sum of ``exp(H0 - H)`` over the trajectory's states.
    proposal
        The state selected so far.
    proposal_energy
        Hamiltonian ``H`` of ``proposal``.
    depth
        Number of doublings merged into the trajectory.
    num_steps
        Leapfrog steps taken, those of a rejected last subtree included.
    sum_accept_prob
        Sum of ``min(1, exp(H0 - H))`` over all the leapfrog steps taken.
    is_divergent
        Whether a leapfrog step had ``H - H0 > divergence_threshold`` or NaN.
    is_turning
        Whether the construction stopped on a U-turn.
    """

    left: IntegratorState
    right: IntegratorState
    left_velocity: Array
    right_velocity: Array
    momentum_sum: Array
    log_sum_weight: Array
    proposal: IntegratorState
    proposal_energy: Array
    depth: Array
    num_steps: Array
    sum_accept_prob: Array
    is_divergent: Array
    is_turning: Array


class _Subtree(NamedTuple):
    """A subtree under construction, leaf by leaf."""

    state: IntegratorState  # last leaf (the start point before the first)
    velocity: Array
    num_leaves: Array
    momentum_sum: Array
    # Checkpoints, row k-1 for level k = 1 .. max_tree_depth (module docstring).
    left_sums: Array
    left_momenta: Array
    left_velocities: Array
    mid_momenta: Array
    mid_velocities: Array
    log_sum_weight: Array
    proposal: IntegratorState
    proposal_energy: Array
    sum_accept_prob: Array
    is_divergent: Array
    is_turning: Array


def _select(predicate: Array, on_true, on_false):
    return jax.tree.map(lambda a, b: jnp.where(predicate, a, b), on_true, on_false)


def build_trajectory(
    rng_key: Array,
    initial_state: IntegratorState,
    step_fn: Callable[[IntegratorState, Array], IntegratorState],
    metric: Metric,
    step_size: Array,
    max_tree_depth: int,
    divergence_threshold: float,
) -> TrajectoryState:
    """Build a NUTS trajectory from a state and select a draw from it.

    Within a subtree the draw is multinomial (progressive, each new leaf
    replaces the subtree's proposal with probability its weight over the
    subtree's weight so far); at the top level it is biased progressive
    (the new subtree's proposal replaces the current one with probability
    ``min(1, w_new / w_old)``). A subtree that diverges or turns inside is
    discarded whole and ends the construction.

    Parameters
    ----------
    rng_key
        Key for the directions and the selection.
    initial_state
        Start point, with its freshly drawn momentum.
    step_fn
        A leapfrog step ``(state, signed_step_size) -> state``.
    metric
        The metric the momentum was drawn from.
    step_size
        Positive step size.
    max_tree_depth
        Maximum number of doublings (static Python int, >= 1).
    divergence_threshold
        Energy error ``H - H0`` above which a step is divergent.

    Returns
    -------
    TrajectoryState
        The finished trajectory; ``proposal`` is the draw.

    References
    ----------
    Betancourt, M. (2017). A Conceptual Introduction to Hamiltonian Monte
    Carlo, appendix A. arXiv:1701.02434. Stan's ``base_nuts.hpp``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc.integrators import velocity_verlet
    >>> from posteria.mcmc.metrics import gaussian_euclidean
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> metric = gaussian_euclidean(jnp.ones(1))
    >>> step_fn = velocity_verlet(logdensity_fn, metric.kinetic_energy_fn)
    >>> x = jnp.zeros(1)
    >>> state = IntegratorState(x, jnp.ones(1), logdensity_fn(x), -x)
    >>> trajectory = build_trajectory(jax.random.key(0), state, step_fn, metric, 1.0, 10, 1000.0)
    >>> int(trajectory.num_steps), bool(trajectory.is_turning)
    (3, True)
    """
    level_sizes = 2 ** jnp.arange(1, max_tree_depth + 1, dtype=jnp.int32)
    initial_velocity = metric.velocity_fn(initial_state.momentum)
    initial_energy = -initial_state.logdensity + metric.kinetic_energy_fn(initial_state.momentum)

    key_leaves, key_doublings = jax.random.split(rng_key)
    # One uniform for the direction and one for the top-level selection, per doubling.
    doubling_uniforms = jax.random.uniform(key_doublings, (max_tree_depth, 2), initial_energy.dtype)

    def add_leaf(step_index: Array, signed_step_size: Array, tree: _Subtree) -> _Subtree:
        index = tree.num_leaves
        state = step_fn(tree.state, signed_step_size)
        momentum = state.momentum
        velocity = metric.velocity_fn(momentum)
        energy = -state.logdensity + metric.kinetic_energy_fn(momentum)
        energy = jnp.where(jnp.isnan(energy), jnp.inf, energy)
        log_weight = initial_energy - energy
        is_divergent = -log_weight > divergence_threshold

        log_sum_weight = jnp.logaddexp(tree.log_sum_weight, log_weight)
        leaf_uniform = jax.random.uniform(jax.random.fold_in(key_leaves, step_index + index), dtype=energy.dtype)
        log_uniform = jnp.log(leaf_uniform)
        is_accepted = log_uniform < log_weight - log_sum_weight
        proposal = _select(is_accepted, state, tree.proposal)
        proposal_energy = jnp.where(is_accepted, energy, tree.proposal_energy)

        sum_before = tree.momentum_sum
        momentum_sum = sum_before + momentum

        # U-turn checks of every sub-subtree whose last leaf this is. Row k-1
        # of the checkpoints describes level k; "inner" is level k-1 (the
        # second half), whose first leaf is this leaf itself when k = 1.
        is_complete = ((index + 1) % level_sizes) == 0
        inner_sums = jnp.concatenate([sum_before[None], tree.left_sums[:-1]])
        inner_momenta = jnp.concatenate([momentum[None], tree.left_momenta[:-1]])
        inner_velocities = jnp.concatenate([velocity[None], tree.left_velocities[:-1]])
        whole_sum = momentum_sum - tree.left_sums
        first_half_sum = inner_sums - tree.left_sums + inner_momenta
        second_half_sum = momentum_sum - inner_sums + tree.mid_momenta
        is_turning_level = (
            metric.is_turning_fn(tree.left_velocities, velocity, whole_sum)
            | metric.is_turning_fn(tree.left_velocities, inner_velocities, first_half_sum)
            | metric.is_turning_fn(tree.mid_velocities, velocity, second_half_sum)
        )
        is_turning = jnp.any(is_complete & is_turning_level) & ~is_divergent

        # Checkpoints for the sub-subtrees this leaf starts or half-ends.
        position_in_level = index % level_sizes
        is_left = (position_in_level == 0)[:, None]
        is_mid = (position_in_level == level_sizes // 2 - 1)[:, None]
        return _Subtree(
            state=state,
            velocity=velocity,
            num_leaves=index + 1,
            momentum_sum=momentum_sum,
            left_sums=jnp.where(is_left, sum_before, tree.left_sums),
            left_momenta=jnp.where(is_left, momentum, tree.left_momenta),
            left_velocities=jnp.where(is_left, velocity, tree.left_velocities),
            mid_momenta=jnp.where(is_mid, momentum, tree.mid_momenta),
            mid_velocities=jnp.where(is_mid, velocity, tree.mid_velocities),
            log_sum_weight=log_sum_weight,
            proposal=proposal,
            proposal_energy=proposal_energy,
            sum_accept_prob=tree.sum_accept_prob + jnp.exp(jnp.minimum(log_weight, 0.0)),
            is_divergent=is_divergent,
            is_turning=is_turning,
        )

    def build_subtree(
        start: IntegratorState, start_velocity: Array, depth: Array, signed_step_size: Array, step_index: Array
    ) -> _Subtree:
        num_leaves = jnp.left_shift(jnp.int32(1), depth)
        checkpoints = jnp.zeros((max_tree_depth,) + start.momentum.shape, start.momentum.dtype)
        false = jnp.zeros((), bool)
        tree = _Subtree(
            state=start,
            velocity=start_velocity,
            num_leaves=jnp.int32(0),
            momentum_sum=jnp.zeros_like(start.momentum),
            left_sums=checkpoints,
            left_momenta=checkpoints,
            left_velocities=checkpoints,
            mid_momenta=checkpoints,
            mid_velocities=checkpoints,
            log_sum_weight=jnp.array(-jnp.inf, initial_energy.dtype),
            proposal=start,
            proposal_energy=initial_energy,
            sum_accept_prob=jnp.zeros_like(initial_energy),
            is_divergent=false,
            is_turning=false,
        )

        def is_growing(tree: _Subtree) -> Array:
            return (tree.num_leaves < num_leaves) & ~tree.is_divergent & ~tree.is_turning

        return jax.lax.while_loop(is_growing, lambda tree: add_leaf(step_index, signed_step_size, tree), tree)

    def double(trajectory: TrajectoryState) -> TrajectoryState:
        uniform_direction, uniform_accept = doubling_uniforms[trajectory.depth]
        is_forward = uniform_direction < 0.5
        signed_step_size = jnp.where(is_forward, step_size, -step_size)
        start, start_velocity = _select(
            is_forward,
            (trajectory.right, trajectory.right_velocity),
            (trajectory.left, trajectory.left_velocity),
        )
        tree = build_subtree(start, start_velocity, trajectory.depth, signed_step_size, trajectory.num_steps)
        is_valid = ~(tree.is_divergent | tree.is_turning)

        # Biased progressive sampling: favour the new subtree.
        log_accept = tree.log_sum_weight - trajectory.log_sum_weight
        is_accepted = is_valid & (jnp.log(uniform_accept) < log_accept)
        proposal, proposal_energy = _select(
            is_accepted,
            (tree.proposal, tree.proposal_energy),
            (trajectory.proposal, trajectory.proposal_energy),
        )

        # Order the old trajectory and the new subtree in time: going
        # forward the subtree is the right part, going backward the left
        # part (its last leaf is then the leftmost state). "junction" states
        # are the last of the left part and the first of the right part.
        leftmost_velocity = jnp.where(is_forward, trajectory.left_velocity, tree.velocity)
        rightmost_velocity = jnp.where(is_forward, tree.velocity, trajectory.right_velocity)
        left_sum, right_sum = _select(
            is_forward, (trajectory.momentum_sum, tree.momentum_sum), (tree.momentum_sum, trajectory.momentum_sum)
        )
        # Leaf 0 wrote every row and the top row (level max_tree_depth) is
        # never rewritten: it holds the subtree's first leaf.
        subtree_first = (tree.left_momenta[-1], tree.left_velocities[-1])
        left_last_momentum, left_last_velocity = _select(
            is_forward, (trajectory.right.momentum, trajectory.right_velocity), subtree_first
        )
        right_first_momentum, right_first_velocity = _select(
            is_forward, subtree_first, (trajectory.left.momentum, trajectory.left_velocity)
        )
        momentum_sum = left_sum + right_sum
        is_turning_merge = (
            metric.is_turning_fn(leftmost_velocity, rightmost_velocity, momentum_sum)
            | metric.is_turning_fn(leftmost_velocity, right_first_velocity, left_sum + right_first_momentum)
            | metric.is_turning_fn(left_last_velocity, rightmost_velocity, right_sum + left_last_momentum)
        )

        left, left_velocity = _select(
            is_forward, (trajectory.left, trajectory.left_velocity), (tree.state, tree.velocity)
        )
        right, right_velocity = _select(
            is_forward, (tree.state, tree.velocity), (trajectory.right, trajectory.right_velocity)
        )
        return TrajectoryState(
            left=left,
            right=right,
            left_velocity=left_velocity,
            right_velocity=right_velocity,
            momentum_sum=momentum_sum,
            log_sum_weight=jnp.where(
                is_valid, jnp.logaddexp(trajectory.log_sum_weight, tree.log_sum_weight), trajectory.log_sum_weight
            ),
            proposal=proposal,
            proposal_energy=proposal_energy,
            depth=trajectory.depth + is_valid.astype(jnp.int32),
            num_steps=trajectory.num_steps + tree.num_leaves,
            sum_accept_prob=trajectory.sum_accept_prob + tree.sum_accept_prob,
            is_divergent=tree.is_divergent,
            is_turning=tree.is_turning | (is_valid & is_turning_merge),
        )

    def is_growing(trajectory: TrajectoryState) -> Array:
        return (trajectory.depth < max_tree_depth) & ~trajectory.is_divergent & ~trajectory.is_turning

    false = jnp.zeros((), bool)
    trajectory = TrajectoryState(
        left=initial_state,
        right=initial_state,
        left_velocity=initial_velocity,
        right_velocity=initial_velocity,
        momentum_sum=initial_state.momentum,
        log_sum_weight=jnp.zeros_like(initial_energy),
        proposal=initial_state,
        proposal_energy=initial_energy,
        depth=jnp.int32(0),
        num_steps=jnp.int32(0),
        sum_accept_prob=jnp.zeros_like(initial_energy),
        is_divergent=false,
        is_turning=false,
    )
    return jax.lax.while_loop(is_growing, double, trajectory)
