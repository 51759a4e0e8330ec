"""Iterative construction of a NUTS trajectory, as Stan builds it.

The trajectory doubles in a random direction until the generalized no-U-turn
criterion fails, a leapfrog step diverges, or ``max_tree_depth`` doublings
are done. Each doubling integrates a new subtree of ``2**depth`` leapfrog
steps, one step at a time inside a ``lax.while_loop`` (the compiled graph
holds a single leapfrog step), and each step does O(d) work, amortised, for
the U-turn checks, whatever ``max_tree_depth``.

Number the leaves of a subtree ``i = 0, 1, ...`` in integration order; a
block of level ``k`` holds ``2**k`` leaves from a multiple of ``2**k``. When
a block is complete, Stan checks three spans of it: the whole block, its first
half with the first leaf of its second half, and its second half with the
last leaf of its first half. A span ``[x, y]`` turns when
``is_turning_fn(v_x, v_y, S_y - S_{x-1})``, ``v`` the sharp momenta and
``S_i`` the sum of the momenta of leaves ``0 .. i``. At leaf ``i``:

* an "early" span ends, from ``i`` with its lowest set bit cleared: for odd
  ``i`` the level-1 block ending here; for even ``i > 0`` the second check of
  the level ``tz(i) + 1`` block whose second half starts here (tz: trailing
  zeros), kept in a bit mask until that block is complete;
* the blocks of levels ``1 .. t`` complete (t: trailing ones of ``i``); for
  levels ``k >= 2`` the whole block and its second half with the last leaf
  of its first half are checked, in a loop of ``t - 1`` turns (on average
  fewer than one).

Spans start at checkpoints, a sharp momentum and the momentum sum before its
leaf: an even leaf in "left" row ``popcount(i)`` (the blocks still open start
at ``i`` with low bits cleared, whose popcounts differ), an odd leaf in "mid"
row ``t - 1`` (it ends the first half of a level ``t + 1`` block). A subtree
merges into the trajectory as one more level, whose first half is the old
trajectory: the early check of its first leaf spans from the trajectory's far
end, and the other two checks are done after the subtree.

Four choices serve XLA:CPU, where a small model's step costs more in the
runtime than in arithmetic, at some 0.1-0.25 us a kernel:

* where the flat proposal below fits in 512 bytes, the checkpoint arrays
  are split into arrays of at most 512 bytes where that takes few of them
  (the runtime then runs a loop body in order, at half the cost), each
  with a scratch row for the writes not wanted and found by comparisons:
  one kernel a write (a read-modify-write took two, and each integer
  division and remainder one more). Eight schools' leaf went from 50 to 36
  kernels, 15% less time per leapfrog step. (Packing a 4-D model's
  checkpoints in one 1.7 KB array instead cost it 1.3x a step.);
* otherwise, and for the proposal always, what a leaf writes together is
  packed in one array, written by one kernel: a checkpoint's velocity and
  momentum sum in one ``(2, d)`` row of one array of left and mid rows (four
  kernels before), the proposal's position, momentum, gradient, log density
  and energy in one flat array (five). Stochastic volatility's leaf went
  from 65 to 56 kernels, eight schools' from 56 to 50; 3-5% less time per
  leapfrog step (alternated in one process, the same draws);
* the uniforms are those of ``jax.random`` hashed unrolled (XLA:CPU runs
  JAX's Threefry as a loop);
* a leaf's bookkeeping waits for its gradient (an optimization barrier). The
  runtime runs a loop body's independent kernels on two threads. Without the
  barrier the checkpoint writes and the leaf's uniform, which do not need the
  gradient, went to the other thread while the gradient ran, and the loop
  then went on from whichever thread finished last. Diamonds (41 us
  gradient): 1.5 -> 1.1 times the bare gradient's time per leapfrog step;
  hierarchical: 2.4 -> 1.8; the others unchanged.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from posteria.mcmc.integrators import IntegratorState, energy
from posteria.mcmc.metrics import Metric
from posteria.mcmc.pytree import tree_select

Array = jax.Array

__all__ = ["Proposal", "TrajectoryState", "build_trajectory"]

_MAX_TREE_DEPTH = 30  # leaf numbers and level bit masks are int32
# XLA:CPU runs a loop body in order, without its dependency scheduler, when
# every buffer the body touches has at most this many bytes: 0.4 against
# 0.9 us per leapfrog step of a 6-D against a 7-D normal, tree depth 10.
_SMALL_BUFFER_BYTES = 512
_MAX_CHUNKS = 5  # beyond, the writes to more arrays cost more than they save
_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


class Proposal(NamedTuple):
    """The state a trajectory selected: what the next transition and its statistics read."""

    position: Array
    momentum: Array
    logdensity: Array
    logdensity_grad: Array


def _packed(state: IntegratorState, state_energy: Array) -> Array:
    """A state as one flat array ``[position, momentum, gradient, logdensity, energy]``.

    Selecting a leaf's state over the proposal is then one kernel, where a
    select per array took five (XLA:CPU does not fuse sibling selects).
    """
    scalars = jnp.stack([state.logdensity, state_energy]).astype(state.position.dtype)
    return jnp.concatenate([state.position, state.momentum, state.logdensity_grad, scalars])


class TrajectoryState(NamedTuple):
    """A NUTS trajectory under construction, and its result.

    Attributes
    ----------
    left, right
        The states at the two ends (backward and forward in time), with
        their sharp momenta ``M^{-1} p``.
    momentum_sum
        Sum of the momenta of all the states in the trajectory (Stan's rho).
    log_sum_weight
        Log of the sum of ``exp(H0 - H)`` over the trajectory's states.
    selected
        The state selected so far and its Hamiltonian, packed in one array
        (read them as ``proposal`` and ``proposal_energy``).
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
    momentum_sum: Array
    log_sum_weight: Array
    selected: Array
    depth: Array
    num_steps: Array
    sum_accept_prob: Array
    is_divergent: Array
    is_turning: Array

    @property
    def proposal(self) -> Proposal:
        """The state selected so far."""
        d = (self.selected.shape[-1] - 2) // 3
        vector = lambda k: self.selected[..., k * d:(k + 1) * d]  # noqa: E731
        return Proposal(vector(0), vector(1), self.selected[..., 3 * d], vector(2))

    @property
    def proposal_energy(self) -> Array:
        """Hamiltonian ``H`` of ``proposal``."""
        return self.selected[..., -1]


class _RowLayout(NamedTuple):
    """Rows ``0 .. num_rows - 1`` of a vector each, in arrays small enough for XLA:CPU's in-order loops (static).

    Each array holds ``rows_per_chunk`` rows and a scratch row for the
    writes not wanted: one kernel a write.
    """

    num_rows: int
    rows_per_chunk: int

    @classmethod
    def small(cls, num_rows: int, row_bytes: int) -> _RowLayout | None:
        """The layout in at most ``_MAX_CHUNKS`` arrays of at most 512 bytes, or None if there is none."""
        rows_per_chunk = min(_SMALL_BUFFER_BYTES // row_bytes - 1, num_rows)
        if rows_per_chunk < 1 or rows_per_chunk * _MAX_CHUNKS < num_rows:
            return None
        return cls(num_rows, rows_per_chunk)

    def zeros(self, row: Array) -> tuple[Array, ...]:
        num_chunks = -(-self.num_rows // self.rows_per_chunk)
        return tuple(jnp.zeros((self.rows_per_chunk + 1,) + row.shape, row.dtype) for _ in range(num_chunks))

    def write(self, chunks: tuple[Array, ...], index: Array, row: Array, is_written: Array) -> tuple[Array, ...]:
        chunk, offset = self._chunk_and_offset(index, len(chunks))
        return tuple(
            jax.lax.dynamic_update_index_in_dim(rows, row, jnp.where(is_written & (chunk == k), offset,
                                                                     self.rows_per_chunk), 0)
            for k, rows in enumerate(chunks)
        )

    def _chunk_and_offset(self, index: Array, num_chunks: int) -> tuple[Array, Array]:
        # Comparisons, not divmod: XLA:CPU copies these cheap operations into
        # the kernels that use them, where each integer division and remainder
        # was a kernel of its own (six a leaf).
        chunk = sum((index >= k * self.rows_per_chunk).astype(index.dtype) for k in range(1, num_chunks))
        return chunk, index - chunk * self.rows_per_chunk

    def read(self, chunks: tuple[Array, ...], index: Array) -> Array:
        chunk, offset = self._chunk_and_offset(index, len(chunks))
        row = _read(chunks[0], offset)
        for k, rows in enumerate(chunks[1:], start=1):
            row = jnp.where(chunk == k, _read(rows, offset), row)
        return row


class _SpanStarts(NamedTuple):
    """How the checkpoints, rows of a sharp momentum and a momentum sum, are kept (static).

    Where the whole loop body can stay within XLA:CPU's in-order size (the
    flat proposal too): the "left" and "mid" velocities and sums in four
    ``_RowLayout``s. Otherwise one array of ``(2, d)`` rows, the left rows
    then the mid rows: a leaf writes its one checkpoint in one kernel.
    """

    num_rows: int
    layout: _RowLayout | None  # None: the one packed array

    @classmethod
    def choose(cls, num_rows: int, vector: Array) -> _SpanStarts:
        proposal_bytes = (3 * vector.size + 2) * vector.dtype.itemsize
        row_bytes = vector.size * vector.dtype.itemsize
        layout = _RowLayout.small(num_rows, row_bytes) if proposal_bytes <= _SMALL_BUFFER_BYTES else None
        return cls(num_rows, layout)

    def zeros(self, vector: Array) -> tuple[tuple[Array, ...], ...]:
        if self.layout is None:
            return ((jnp.zeros((2 * self.num_rows, 2) + vector.shape, vector.dtype),),)
        return tuple(self.layout.zeros(vector) for _ in range(4))

    def write(self, rows, is_left: Array, left_row: Array, mid_row: Array, velocity: Array, sum_before: Array):
        """``rows`` with ``(velocity, sum_before)`` in left row ``left_row`` if ``is_left``, else in mid row ``mid_row``."""
        if self.layout is None:
            index = jnp.where(is_left, left_row, self.num_rows + mid_row)
            return ((jax.lax.dynamic_update_index_in_dim(rows[0][0], jnp.stack([velocity, sum_before]), index, 0),),)
        left_velocities, left_sums, mid_velocities, mid_sums = rows
        return (self.layout.write(left_velocities, left_row, velocity, is_left),
                self.layout.write(left_sums, left_row, sum_before, is_left),
                self.layout.write(mid_velocities, mid_row, velocity, ~is_left),
                self.layout.write(mid_sums, mid_row, sum_before, ~is_left))

    def read(self, rows, is_left: bool, row: Array) -> tuple[Array, Array]:
        """The velocity and the momentum sum of a left (``is_left``, static) or mid row."""
        if self.layout is None:
            pair = _read(rows[0][0], row if is_left else self.num_rows + row)
            return pair[0], pair[1]
        velocities, sums = rows[:2] if is_left else rows[2:]
        return self.layout.read(velocities, row), self.layout.read(sums, row)


class _Subtree(NamedTuple):
    """A subtree under construction, leaf by leaf."""

    state: IntegratorState  # last leaf (the start point before the first)
    num_leaves: Array
    momentum_sum: Array
    checkpoints: tuple[tuple[Array, ...], ...]  # as _SpanStarts keeps them
    pending_turns: Array  # bit k: the early check of the open level-k block turned
    log_sum_weight: Array
    selected: Array  # the proposal, packed as in TrajectoryState
    sum_accept_prob: Array
    is_divergent: Array
    is_turning: Array


def _read(rows: Array, index: Array) -> Array:
    return jax.lax.dynamic_index_in_dim(rows, index, keepdims=False)


def _trailing_ones(n: Array) -> Array:
    """Number of trailing one bits of a non-negative integer: 0b1011 -> 2."""
    return jax.lax.population_count(n ^ (n + 1)) - 1


def _lowest_bit(n: Array) -> Array:
    """The lowest set bit of a positive integer: 0b1100 -> 0b100."""
    return n & -n


def _threefry2x32(key, count) -> tuple[Array, Array]:
    """Threefry-2x32, 20 rounds, of two uint32 key words and two uint32 count words, unrolled.

    In ``lax`` operations: tracing jnp's operators instead took 60 ms more
    per chain program (a third of its tracing).
    """
    add, xor = jax.lax.add, jax.lax.bitwise_xor

    def rotate_left(x, bits):
        left, right = jax.lax.shift_left(x, np.uint32(bits)), jax.lax.shift_right_logical(x, np.uint32(32 - bits))
        return jax.lax.bitwise_or(left, right)

    keys = (key[0], key[1], xor(xor(key[0], key[1]), np.uint32(0x1BD11BDA)))
    x0, x1 = add(count[0], keys[0]), add(count[1], keys[1])
    for i in range(5):
        for rotation in _THREEFRY_ROTATIONS[i % 2]:
            x0 = add(x0, x1)
            x1 = xor(rotate_left(x1, rotation), x0)
        x0 = add(x0, keys[(i + 1) % 3])
        x1 = add(add(x1, keys[(i + 2) % 3]), np.uint32(i + 1))
    return x0, x1


def _threefry_uniform(key, count: Array, dtype) -> Array:
    """Float32 or float64 uniforms on ``[0, 1)`` from the hashes of ``(0, count)``, as ``jax.random`` makes them."""
    high, low = _threefry2x32(key, (jnp.zeros_like(count), count))
    finfo = jnp.finfo(dtype)
    bits = (high.astype(jnp.uint64) << 32) | low.astype(jnp.uint64) if finfo.bits == 64 else high ^ low
    one = jax.lax.bitcast_convert_type(jnp.ones((), dtype), bits.dtype)
    return jax.lax.bitcast_convert_type((bits >> (finfo.bits - finfo.nmant)) | one, dtype) - 1


def build_trajectory(
    rng_key: Array,
    initial_state: IntegratorState,
    step_fn: Callable[[IntegratorState, Array], IntegratorState],
    metric: Metric,
    step_size: Array,
    max_tree_depth: int,
    divergence_threshold: float,
    depth_limit: Array | int | None = None,
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
        Start point, with its freshly drawn momentum and its velocities
        (:func:`~posteria.mcmc.integrators.integrator_state`).
    step_fn
        A leapfrog step ``(state, signed_step_size) -> state``.
    metric
        The metric the momentum was drawn from.
    step_size
        Positive step size.
    max_tree_depth
        Maximum number of doublings (static Python int, 1 to 30).
    divergence_threshold
        Energy error ``H - H0`` above which a step is divergent.
    depth_limit
        Optional run-time bound on the doublings, below ``max_tree_depth`` (1:
        a single leapfrog step, as a step-size search trial takes).

    Returns
    -------
    TrajectoryState
        The finished trajectory; ``proposal`` is the draw.

    Raises
    ------
    ValueError
        If ``max_tree_depth`` is not an integer from 1 to 30.

    References
    ----------
    Betancourt, M. (2017). A Conceptual Introduction to Hamiltonian Monte
    Carlo, appendix A. arXiv:1701.02434. Stan's ``base_nuts.hpp``.
    Salmon, J. K. et al. (2011). Parallel random numbers: as easy as 1, 2, 3.
    SC '11 (Threefry).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc.integrators import integrator_state, velocity_verlet
    >>> from posteria.mcmc.metrics import gaussian_euclidean
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> metric = gaussian_euclidean(jnp.ones(1))
    >>> step_fn = velocity_verlet(logdensity_fn, metric.velocity_fn)
    >>> x = jnp.zeros(1)
    >>> state = integrator_state(x, jnp.ones(1), logdensity_fn(x), -x, metric.velocity_fn)
    >>> trajectory = build_trajectory(jax.random.key(0), state, step_fn, metric, 1.0, 10, 1000.0)
    >>> int(trajectory.num_steps), bool(trajectory.is_turning)
    (3, True)
    """
    if not isinstance(max_tree_depth, int) or not 1 <= max_tree_depth <= _MAX_TREE_DEPTH:
        raise ValueError(f"max_tree_depth must be an integer from 1 to {_MAX_TREE_DEPTH}, got {max_tree_depth!r}")
    momentum = initial_state.momentum
    span_starts = _SpanStarts.choose(max(max_tree_depth - 1, 1), momentum)
    initial_energy = energy(initial_state)

    # The uniforms are jax.random.uniform(rng_key, (2 * max_tree_depth + 2**max_tree_depth,))
    # for a Threefry key (JAX's default), each hashed unrolled where it is
    # used: 0.25 us a leaf in XLA:CPU's loop of five steps, a few nanoseconds
    # fused, and two hashes in the compiled program. The first two per
    # doubling (direction, top-level selection), then one per leaf. A key of
    # another kind is hashed from its first two words.
    key = jax.random.key_data(rng_key)[:2]
    count = jnp.arange(2 * max_tree_depth, dtype=jnp.uint32).reshape(max_tree_depth, 2)
    doubling_uniforms = _threefry_uniform(key, count, initial_energy.dtype)

    def span_is_turning(first_velocity: Array, sum_before_first: Array, velocity: Array, momentum_sum: Array):
        return metric.is_turning_fn(first_velocity, velocity, momentum_sum - sum_before_first)

    def add_leaf(tree: _Subtree, step_index: Array, signed_step_size: Array, depth_bit: Array, far_end) -> _Subtree:
        state = step_fn(tree.state, signed_step_size)
        # Nothing below starts before the gradient is done (see the module docstring).
        state, tree = jax.lax.optimization_barrier((state, tree))
        index = tree.num_leaves
        momentum, velocity = state.momentum, state.velocity
        leaf_energy = energy(state)
        leaf_energy = jnp.where(jnp.isnan(leaf_energy), jnp.inf, leaf_energy)
        log_weight = initial_energy - leaf_energy
        is_divergent = -log_weight > divergence_threshold

        log_sum_weight = jnp.logaddexp(tree.log_sum_weight, log_weight)
        leaf_number = (2 * max_tree_depth + step_index + index).astype(jnp.uint32)
        leaf_uniform = _threefry_uniform(key, leaf_number, leaf_energy.dtype)
        is_accepted = jnp.log(leaf_uniform) < log_weight - log_sum_weight
        selected = tree_select(is_accepted, _packed(state, leaf_energy), tree.selected)

        sum_before = tree.momentum_sum
        momentum_sum = sum_before + momentum

        # Write this leaf's checkpoint before reading others (a leaf never
        # reads its own rows): no array is live in two versions, no copies.
        num_ones = jax.lax.population_count(index)
        num_completed = _trailing_ones(index)
        is_even = (index & 1) == 0
        rows = span_starts.write(tree.checkpoints, is_even, num_ones, num_completed - 1, velocity, sum_before)

        def span_from(is_left: bool, row: Array) -> Array:
            return span_is_turning(*span_starts.read(rows, is_left, row), velocity, momentum_sum)

        is_first = index == 0
        early_start = tree_select(is_first, far_end, span_starts.read(rows, True, num_ones - 1))
        early_turn = span_is_turning(*early_start, velocity, momentum_sum)
        # The level of the early check's block: 1 + trailing zeros, or for the
        # first leaf the merge level, depth + 1.
        pending_turns = tree.pending_turns | jnp.where(early_turn, 2 * _lowest_bit(index | depth_bit), 0)
        completed_levels = jnp.left_shift(jnp.int32(2), num_completed) - 2  # bits 1 .. num_completed
        is_stopping = ((pending_turns & completed_levels) != 0) | is_divergent

        def late_checks(carry: tuple[Array, Array]) -> tuple[Array, Array]:
            level, is_stopping = carry
            is_stopping = (
                is_stopping
                | span_from(True, num_ones - level)
                | span_from(False, level - 2)
            )
            return level - 1, is_stopping

        _, is_stopping = jax.lax.while_loop(
            lambda carry: (carry[0] >= 2) & ~carry[1], late_checks, (num_completed, is_stopping)
        )
        return _Subtree(
            state=state,
            num_leaves=index + 1,
            momentum_sum=momentum_sum,
            checkpoints=rows,
            pending_turns=pending_turns,
            log_sum_weight=log_sum_weight,
            selected=selected,
            sum_accept_prob=tree.sum_accept_prob + jnp.exp(jnp.minimum(log_weight, 0.0)),
            is_divergent=is_divergent,
            is_turning=is_stopping & ~is_divergent,
        )

    def double(carry: tuple[TrajectoryState, tuple]) -> tuple[TrajectoryState, tuple]:
        trajectory, checkpoints = carry
        uniform_direction, uniform_accept = doubling_uniforms[trajectory.depth]
        is_forward = uniform_direction < 0.5
        signed_step_size = jnp.where(is_forward, step_size, -step_size)
        # The subtree grows from the near end (start); the far end begins the merged spans.
        start, far_velocity = tree_select(
            is_forward,
            (trajectory.right, trajectory.left.velocity),
            (trajectory.left, trajectory.right.velocity),
        )
        depth_bit = jnp.left_shift(jnp.int32(1), trajectory.depth)
        far_end = (far_velocity, -trajectory.momentum_sum)  # sums restart from 0 in the subtree
        false = jnp.zeros((), bool)
        tree = _Subtree(
            state=start,
            num_leaves=jnp.int32(0),
            momentum_sum=jnp.zeros_like(start.momentum),
            checkpoints=checkpoints,
            pending_turns=jnp.int32(0),
            log_sum_weight=jnp.array(-jnp.inf, initial_energy.dtype),
            selected=trajectory.selected,  # replaced by the subtree's first leaf
            sum_accept_prob=jnp.zeros_like(initial_energy),
            is_divergent=false,
            is_turning=false,
        )
        tree = jax.lax.while_loop(
            lambda tree: (tree.num_leaves < depth_bit) & ~tree.is_divergent & ~tree.is_turning,
            lambda tree: add_leaf(tree, trajectory.num_steps, signed_step_size, depth_bit, far_end),
            tree,
        )
        is_valid = ~(tree.is_divergent | tree.is_turning)

        # Biased progressive sampling: favour the new subtree.
        log_accept = tree.log_sum_weight - trajectory.log_sum_weight
        is_accepted = is_valid & (jnp.log(uniform_accept) < log_accept)
        selected = tree_select(is_accepted, tree.selected, trajectory.selected)

        # The merge's checks not done at the subtree's first leaf: the whole
        # trajectory, and the subtree with the near end.
        momentum_sum = trajectory.momentum_sum + tree.momentum_sum
        is_turning_merge = (
            ((tree.pending_turns & (2 * depth_bit)) != 0)
            | metric.is_turning_fn(far_velocity, tree.state.velocity, momentum_sum)
            | metric.is_turning_fn(start.velocity, tree.state.velocity, tree.momentum_sum + start.momentum)
        )
        left = tree_select(is_forward, trajectory.left, tree.state)
        right = tree_select(is_forward, tree.state, trajectory.right)
        trajectory = TrajectoryState(
            left=left,
            right=right,
            momentum_sum=momentum_sum,
            log_sum_weight=jnp.where(
                is_valid, jnp.logaddexp(trajectory.log_sum_weight, tree.log_sum_weight), trajectory.log_sum_weight
            ),
            selected=selected,
            depth=trajectory.depth + is_valid.astype(jnp.int32),
            num_steps=trajectory.num_steps + tree.num_leaves,
            sum_accept_prob=trajectory.sum_accept_prob + tree.sum_accept_prob,
            is_divergent=tree.is_divergent,
            is_turning=tree.is_turning | (is_valid & is_turning_merge),
        )
        return trajectory, tree.checkpoints

    def is_growing(carry: tuple[TrajectoryState, tuple]) -> Array:
        trajectory = carry[0]
        limit = max_tree_depth if depth_limit is None else jnp.minimum(depth_limit, max_tree_depth)
        return (trajectory.depth < limit) & ~trajectory.is_divergent & ~trajectory.is_turning

    false = jnp.zeros((), bool)
    trajectory = TrajectoryState(
        left=initial_state,
        right=initial_state,
        momentum_sum=momentum,
        log_sum_weight=jnp.zeros_like(initial_energy),
        selected=_packed(initial_state, initial_energy),
        depth=jnp.int32(0),
        num_steps=jnp.int32(0),
        sum_accept_prob=jnp.zeros_like(initial_energy),
        is_divergent=false,
        is_turning=false,
    )
    # A subtree writes each row before reading it: the arrays go from subtree
    # to subtree without being cleared.
    checkpoints = span_starts.zeros(momentum)
    return jax.lax.while_loop(is_growing, double, (trajectory, checkpoints))[0]
