"""Tests of the NUTS kernel: exact tree building, statistics, divergences.

Layers: (a) the iterative trajectory is compared, outcome by outcome, with a
plain recursive transcription of Stan's ``base_nuts.hpp`` over every
sequence of doubling directions, including the distribution of the selected
state; (b) moments and quantiles of known distributions within 4 Monte Carlo
standard errors; (c) divergences; (d) one deliberately broken kernel that the
statistical check must catch.
"""

import collections

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from posteria.mcmc import metrics, nuts
from posteria.mcmc import trajectory as trajectory_module
from posteria.mcmc.integrators import integrator_state, velocity_verlet
from posteria.mcmc.metrics import gaussian_euclidean
from posteria.mcmc.trajectory import build_trajectory

jax.config.update("jax_enable_x64", True)

CORRELATED_COVARIANCE = np.array([[1.0, 0.9 * 3.0], [0.9 * 3.0, 9.0]])
CORRELATED_PRECISION = np.linalg.inv(CORRELATED_COVARIANCE)


def standard_normal_logdensity(x):
    return -0.5 * jnp.sum(x**2)


def correlated_logdensity(x):
    return -0.5 * x @ CORRELATED_PRECISION @ x


def quartic_logdensity(x):
    return -0.25 * jnp.sum(x**4) - 0.5 * x[0] * x[1]


# NumPy versions with hand-written gradients, for the (fast) reference.
NUMPY_VALUE_AND_GRAD = {
    standard_normal_logdensity: lambda q: (-0.5 * q @ q, -q),
    correlated_logdensity: lambda q: (-0.5 * q @ CORRELATED_PRECISION @ q, -CORRELATED_PRECISION @ q),
    quartic_logdensity: lambda q: (
        -0.25 * np.sum(q**4) - 0.5 * q[0] * q[1],
        -(q**3) - 0.5 * np.array([q[1], q[0], 0.0]),
    ),
}


# --------------------------------------------------------------------------
# (a) exact tree building against a recursive transcription of Stan
# --------------------------------------------------------------------------


def stan_reference(
    logdensity_fn,
    position,
    momentum,
    inverse_mass_matrix,
    step_size,
    max_tree_depth,
    divergence_threshold=1000.0,
    subtree_boundary_checks=True,
    top_boundary_checks=True,
):
    """Enumerate Stan's recursive NUTS over all direction sequences.

    Returns ``outcomes``: {(tree_depth, num_steps, is_turning, is_divergent,
    acceptance_rate rounded to 1e-9): probability} and ``selection``:
    {first coordinate of the selected position: probability}.
    """
    value_and_grad = NUMPY_VALUE_AND_GRAD[logdensity_fn]
    inverse_mass_matrix = np.asarray(inverse_mass_matrix, float)
    if inverse_mass_matrix.ndim == 1:
        inverse_mass_matrix = np.diag(inverse_mass_matrix)

    def leapfrog(z, eps):
        q, p, _, g = z
        p = p + 0.5 * eps * g
        q = q + eps * inverse_mass_matrix @ p
        logdensity, g = value_and_grad(q)
        return q, p + 0.5 * eps * g, logdensity, g

    def hamiltonian(z):
        return -z[2] + 0.5 * z[1] @ inverse_mass_matrix @ z[1]

    def persists(sharp_minus, sharp_plus, rho):
        return sharp_minus @ rho > 0 and sharp_plus @ rho > 0

    q0 = np.asarray(position, float)
    z0 = (q0, np.asarray(momentum, float), *value_and_grad(q0))
    h0 = hamiltonian(z0)

    def build_tree(z, depth, eps):
        """Stan's build_tree; returns (is_valid, is_divergent, last state, summary)."""
        if depth == 0:
            z = leapfrog(z, eps)
            h = hamiltonian(z)
            h = np.inf if np.isnan(h) else h
            is_divergent = h - h0 > divergence_threshold
            sharp = inverse_mass_matrix @ z[1]
            leaf = dict(n=1, acc=min(1.0, np.exp(h0 - h)), log_w=h0 - h, rho=z[1], dist={z[0][0]: 1.0},
                        p_beg=z[1], sharp_beg=sharp, p_end=z[1], sharp_end=sharp)
            return not is_divergent, is_divergent, z, leaf
        is_valid, is_divergent, z, init = build_tree(z, depth - 1, eps)
        if not is_valid:
            return False, is_divergent, z, init
        is_valid, is_divergent, z, final = build_tree(z, depth - 1, eps)
        summary = dict(n=init["n"] + final["n"], acc=init["acc"] + final["acc"])
        if not is_valid:
            return False, is_divergent, z, summary
        rho = init["rho"] + final["rho"]
        ok = persists(init["sharp_beg"], final["sharp_end"], rho)
        if subtree_boundary_checks:
            ok &= persists(init["sharp_beg"], final["sharp_beg"], init["rho"] + final["p_beg"])
            ok &= persists(init["sharp_end"], final["sharp_end"], final["rho"] + init["p_end"])
        log_w = np.logaddexp(init["log_w"], final["log_w"])
        w_final = np.exp(final["log_w"] - log_w)  # multinomial within the subtree
        summary.update(log_w=log_w, rho=rho, dist=mix(init["dist"], final["dist"], w_final),
                       p_beg=init["p_beg"], sharp_beg=init["sharp_beg"],
                       p_end=final["p_end"], sharp_end=final["sharp_end"])
        return ok, False, z, summary

    outcomes, selection = collections.defaultdict(float), collections.defaultdict(float)

    def record(prob, depth, n, is_turning, is_divergent, acc, dist):
        outcomes[(depth, n, is_turning, is_divergent, round(acc / n, 9))] += prob
        for x, p in dist.items():
            selection[x] += prob * p

    def transition(prob, depth, z_bck, z_fwd, ends, rho, log_w, n, acc, dist):
        """Stan's transition loop, branching on the direction of each doubling."""
        if depth == max_tree_depth:
            return record(prob, depth, n, False, False, acc, dist)
        for forward in (True, False):
            e = dict(ends)
            if forward:
                rho_bck = rho
                e["p_bck_fwd"], e["sharp_bck_fwd"] = e["p_fwd_fwd"], e["sharp_fwd_fwd"]
                is_valid, is_divergent, z_new, sub = build_tree(z_fwd, depth, step_size)
            else:
                rho_fwd = rho
                e["p_fwd_bck"], e["sharp_fwd_bck"] = e["p_bck_bck"], e["sharp_bck_bck"]
                is_valid, is_divergent, z_new, sub = build_tree(z_bck, depth, -step_size)
            n_new, acc_new = n + sub["n"], acc + sub["acc"]
            if not is_valid:
                record(prob / 2, depth, n_new, not is_divergent, is_divergent, acc_new, dist)
                continue
            side = "fwd" if forward else "bck"
            e[f"p_{side}_bck" if forward else f"p_{side}_fwd"] = sub["p_beg"]
            e[f"sharp_{side}_bck" if forward else f"sharp_{side}_fwd"] = sub["sharp_beg"]
            e[f"p_{side}_{side}"], e[f"sharp_{side}_{side}"] = sub["p_end"], sub["sharp_end"]
            if forward:
                rho_fwd, z_b, z_f = sub["rho"], z_bck, z_new
            else:
                rho_bck, z_b, z_f = sub["rho"], z_new, z_fwd
            accept = min(1.0, np.exp(sub["log_w"] - log_w))  # biased progressive sampling
            new_dist = mix(dist, sub["dist"], accept)
            rho_new = rho_bck + rho_fwd
            ok = persists(e["sharp_bck_bck"], e["sharp_fwd_fwd"], rho_new)
            if top_boundary_checks:
                ok &= persists(e["sharp_bck_bck"], e["sharp_fwd_bck"], rho_bck + e["p_fwd_bck"])
                ok &= persists(e["sharp_bck_fwd"], e["sharp_fwd_fwd"], rho_fwd + e["p_bck_fwd"])
            if ok:
                transition(prob / 2, depth + 1, z_b, z_f, e, rho_new, np.logaddexp(log_w, sub["log_w"]),
                           n_new, acc_new, new_dist)
            else:
                record(prob / 2, depth + 1, n_new, True, False, acc_new, new_dist)

    sharp0 = inverse_mass_matrix @ z0[1]
    ends = {f"{kind}_{a}_{b}": value for kind, value in (("p", z0[1]), ("sharp", sharp0))
            for a in ("fwd", "bck") for b in ("fwd", "bck")}
    transition(1.0, 0, z0, z0, ends, z0[1], 0.0, 0, 0.0, {q0[0]: 1.0})
    return dict(outcomes), dict(selection)


def mix(old, new, weight_new):
    mixed = {x: (1 - weight_new) * p for x, p in old.items()}
    for x, p in new.items():
        mixed[x] = mixed.get(x, 0.0) + weight_new * p
    return mixed


def kernel_trajectories(logdensity_fn, position, momentum, inverse_mass_matrix, step_size,
                        max_tree_depth=10, divergence_threshold=1000.0, num_keys=2000):
    """The iterative trajectory from one phase-space point, for many keys."""
    metric = gaussian_euclidean(jnp.asarray(inverse_mass_matrix, float))
    step_fn = velocity_verlet(logdensity_fn, metric.velocity_fn)
    position = jnp.asarray(position, float)
    state = integrator_state(position, jnp.asarray(momentum, float), *jax.value_and_grad(logdensity_fn)(position),
                             metric.velocity_fn)

    def one(key):
        return build_trajectory(key, state, step_fn, metric, step_size, max_tree_depth, divergence_threshold)

    # lax.map rather than vmap: vmapped while loops compile twice as slowly.
    return jax.jit(lambda keys: jax.lax.map(one, keys))(jax.random.split(jax.random.key(11), num_keys))


def assert_frequencies_match(samples, probabilities, num_samples):
    """Every sampled value has a reference probability, and frequencies agree within 4 sd."""
    counts = collections.Counter(samples)
    assert set(counts) <= set(probabilities), set(counts) - set(probabilities)
    for value, p in probabilities.items():
        standard_error = np.sqrt(p * (1 - p) / num_samples)
        assert abs(counts[value] / num_samples - p) <= 4 * standard_error + 1e-12, (value, p, counts[value])


TREE_CASES = {
    # name: (logdensity_fn, position, momentum, inverse_mass_matrix, step_size, max_tree_depth, threshold)
    "normal_1d_deep": (standard_normal_logdensity, [0.3], [1.1], [1.0], 0.1, 10, 1000.0),
    "normal_1d_depth_capped": (standard_normal_logdensity, [0.3], [1.1], [1.0], 0.1, 4, 1000.0),
    "correlated_identity": (correlated_logdensity, [-1.0, -1.0], [1.0, 0.5], [1.0, 1.0], 0.3, 10, 1000.0),
    "correlated_dense": (correlated_logdensity, [0.5, -1.0], [0.3, 0.8], CORRELATED_COVARIANCE, 0.2, 10, 1000.0),
    "quartic_divergent": (quartic_logdensity, [0.5, -1.0, 0.2], [0.3, 0.8, -1.0], [1.0, 2.0, 0.5], 0.35, 10, 0.15),
    # 12 dimensions: checkpoints in two small arrays each (the chunked layout);
    # subtrees of 16 leaves, some turning inside, check levels 1 to 4.
    "normal_12d_chunked": (standard_normal_logdensity, np.linspace(-1.0, 1.2, 12), np.cos(np.arange(12.0)),
                           np.linspace(0.5, 2.0, 12), 0.15, 10, 1000.0),
}


@pytest.mark.parametrize("case", sorted(TREE_CASES))
def test_iterative_tree_matches_recursive_stan(case):
    logdensity_fn, position, momentum, inverse_mass_matrix, step_size, max_depth, threshold = TREE_CASES[case]
    outcomes, selection = stan_reference(
        logdensity_fn, position, momentum, inverse_mass_matrix, step_size, max_depth, threshold
    )
    num_keys = 2000
    trajectory = kernel_trajectories(
        logdensity_fn, position, momentum, inverse_mass_matrix, step_size, max_depth, threshold, num_keys
    )
    acceptance = np.asarray(trajectory.sum_accept_prob / trajectory.num_steps)
    observed = [
        (int(d), int(n), bool(t), bool(v), round(float(a), 9))
        for d, n, t, v, a in zip(
            trajectory.depth, trajectory.num_steps, trajectory.is_turning, trajectory.is_divergent, acceptance
        )
    ]
    # Depth, step count, stopping reason and acceptance rate are exact for each
    # direction sequence; their frequencies follow the directions' coin flips.
    assert_frequencies_match(observed, outcomes, num_keys)
    # The selected state: multinomial within subtrees, biased progressive on top.
    selected = np.asarray(trajectory.proposal.position[:, 0])
    reference_positions = np.array(sorted(selection))
    nearest = reference_positions[np.argmin(np.abs(selected[:, None] - reference_positions), axis=1)]
    np.testing.assert_allclose(selected, nearest, atol=1e-9)
    assert_frequencies_match(list(nearest), selection, num_keys)
    if case == "quartic_divergent":
        assert any(key[3] for key in outcomes) and any(key[2] for key in outcomes)


@pytest.mark.parametrize(
    "logdensity_fn, position",
    [(standard_normal_logdensity, [0.3]), (correlated_logdensity, [0.3, -1.2]), (quartic_logdensity, [0.3, -1.2, 0.7])],
    ids=lambda arg: getattr(arg, "__name__", ""),
)
def test_reference_gradients_match_jax(logdensity_fn, position):
    value, grad = NUMPY_VALUE_AND_GRAD[logdensity_fn](np.array(position))
    jax_value, jax_grad = jax.value_and_grad(logdensity_fn)(jnp.array(position))
    np.testing.assert_allclose([value, *grad], [jax_value, *jax_grad], rtol=1e-12)


def test_reference_cases_need_stan_boundary_checks():
    # Without the extra checks across the junction of two subtrees (what
    # NumPyro and BlackJAX do), these trajectories would end elsewhere, so
    # the comparison above tests both kinds of extra checks.
    args = TREE_CASES["correlated_identity"][:6]
    full, _ = stan_reference(*args)
    without_subtree, _ = stan_reference(*args, subtree_boundary_checks=False)
    without_top, _ = stan_reference(*args, top_boundary_checks=False)
    assert set(without_subtree) != set(full)
    assert set(without_top) != set(full)


def test_hand_computed_u_turn():
    # N(0, 1) from x = 0 with step size 1: the leapfrog momenta are exactly
    # p0 * (1, 1/2, -1/2, -1) at steps 0..3, symmetric in time. The first
    # doubling never turns. The second one either continues the same way
    # (momenta -1/2, -1: a valid subtree, but the merged trajectory turns:
    # depth 2) or goes the other way (momenta 1/2, -1/2 sum to 0: the
    # subtree turns inside and is discarded: depth 1). Both take 3 steps.
    # Energies: H0 = p0^2 / 2, and p0^2 * 5/8 at x = +-p0, so with p0 = 1
    # the acceptance rates are (2 exp(-1/8) + 1) / 3 and exp(-1/8).
    num_keys = 400
    trajectory = kernel_trajectories(standard_normal_logdensity, [0.0], [1.0], [1.0], 1.0, num_keys=num_keys)
    depth = np.asarray(trajectory.depth)
    assert np.all(np.asarray(trajectory.num_steps) == 3)
    assert np.all(np.asarray(trajectory.is_turning)) and not np.any(np.asarray(trajectory.is_divergent))
    assert set(depth.tolist()) == {1, 2}
    assert abs(np.mean(depth == 2) - 0.5) < 4 * np.sqrt(0.25 / num_keys)
    acceptance = np.asarray(trajectory.sum_accept_prob / trajectory.num_steps)
    np.testing.assert_allclose(acceptance[depth == 2], (2 * np.exp(-1 / 8) + 1) / 3, rtol=1e-12)
    np.testing.assert_allclose(acceptance[depth == 1], np.exp(-1 / 8), rtol=1e-12)
    assert set(np.round(np.asarray(trajectory.proposal.position[:, 0]), 12).tolist()) <= {-1.0, 0.0, 1.0}


def test_kernel_info_is_consistent_over_a_chain():
    max_tree_depth = 6
    kernel = nuts.build_kernel(max_tree_depth=max_tree_depth)
    inverse_mass_matrix = jnp.array([1.0, 9.0])
    positions, logdensities, info = sample(
        correlated_logdensity, jnp.zeros(2), 0.4, inverse_mass_matrix, 300, 1, kernel=kernel
    )
    depth, steps = info.tree_depth, info.num_integration_steps
    assert np.all((2**depth - 1 <= steps) & (steps <= 2 ** (depth + 1) - 1))
    assert np.all(steps <= 2**max_tree_depth - 1) and np.all(depth <= max_tree_depth)
    assert np.all(steps[~info.is_turning & ~info.is_divergent] == 2**max_tree_depth - 1)
    assert np.all((info.acceptance_rate >= 0) & (info.acceptance_rate <= 1))
    np.testing.assert_allclose(logdensities, -0.5 * np.einsum("cni,ij,cnj->cn", positions, CORRELATED_PRECISION,
                                                              positions), rtol=1e-12)
    kinetic = 0.5 * np.sum(info.momentum**2 * np.asarray(inverse_mass_matrix), axis=-1)
    np.testing.assert_allclose(info.energy, -logdensities + kinetic, rtol=1e-12)


def test_depth_limit_is_reached_with_a_tiny_step_size():
    state = nuts.init(jnp.array([0.5]), standard_normal_logdensity)
    kernel = nuts.build_kernel(max_tree_depth=4)
    _, info = jax.jit(lambda key: kernel(key, state, standard_normal_logdensity, 0.01, jnp.ones(1)))(
        jax.random.key(0)
    )
    assert int(info.tree_depth) == 4 and int(info.num_integration_steps) == 15
    assert not bool(info.is_turning) and not bool(info.is_divergent)


def test_kernel_traces_the_log_density_once():
    # One leapfrog in the compiled graph: no unrolling over depth or steps.
    num_traces = []

    def counting_logdensity(x):
        num_traces.append(1)
        return standard_normal_logdensity(x)

    state = nuts.init(jnp.zeros(3), standard_normal_logdensity)
    kernel = nuts.build_kernel()
    jax.jit(lambda key: kernel(key, state, counting_logdensity, 0.5, jnp.ones(3))).lower(jax.random.key(0))
    assert len(num_traces) == 1


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("metric", ["diagonal", "dense", "low_rank"])
def test_state_and_blank_info_have_the_kernel_output_types(dtype, metric):
    # A loop's first carry: a different shape or dtype fails the loop at trace time, a weak type retraces it.
    inverse_mass_matrix = {
        "diagonal": jnp.ones(3, dtype),
        "dense": jnp.eye(3, dtype=dtype),
        "low_rank": metrics.LowRankInverseMass(jnp.ones(3, dtype), jnp.eye(3, 2, dtype=dtype), jnp.ones(2, dtype)),
    }[metric]
    kernel = nuts.build_kernel()
    with jax.enable_x64(dtype == "float64"):
        state = nuts.init(jnp.zeros(3, dtype), standard_normal_logdensity)
        traced = jax.eval_shape(
            lambda s: kernel(jax.random.key(0), s, standard_normal_logdensity, jnp.asarray(0.5, dtype),
                             inverse_mass_matrix), state)
        blank = (state, nuts.blank_info(state))
    assert jax.tree_util.tree_structure(blank) == jax.tree_util.tree_structure(traced)
    for made, expected in zip(jax.tree_util.tree_leaves(blank), jax.tree_util.tree_leaves(traced)):
        assert (made.shape, made.dtype, made.weak_type) == (expected.shape, expected.dtype, expected.weak_type)


@pytest.mark.parametrize("max_tree_depth", [0, -1, 2.0])
def test_build_kernel_rejects_bad_max_tree_depth(max_tree_depth):
    with pytest.raises(ValueError, match="max_tree_depth"):
        nuts.build_kernel(max_tree_depth=max_tree_depth)


def test_build_trajectory_rejects_a_depth_beyond_int32_leaf_numbers():
    metric = gaussian_euclidean(jnp.ones(1))
    state = integrator_state(jnp.zeros(1), jnp.ones(1), jnp.zeros(()), jnp.zeros(1), metric.velocity_fn)
    step_fn = velocity_verlet(standard_normal_logdensity, metric.velocity_fn)
    with pytest.raises(ValueError, match="from 1 to 30"):
        build_trajectory(jax.random.key(0), state, step_fn, metric, 0.1, 31, 1000.0)


def test_bit_helpers():
    numbers = np.arange(4097)
    trailing_ones = [(int(n) ^ (int(n) + 1)).bit_length() - 1 for n in numbers]
    np.testing.assert_array_equal(trajectory_module._trailing_ones(jnp.asarray(numbers, jnp.int32)), trailing_ones)
    assert [int(trajectory_module._trailing_ones(jnp.int32(n))) for n in (0, 1, 0b1011, 0b0111)] == [0, 1, 2, 3]
    positive = numbers[1:]
    np.testing.assert_array_equal(trajectory_module._lowest_bit(jnp.asarray(positive, jnp.int32)),
                                  [int(n) & -int(n) for n in positive])


@pytest.mark.parametrize(
    "num_rows, row_bytes, rows_per_chunk",
    [(9, 8, 9), (9, 48, 9), (9, 56, 8), (9, 80, 5), (9, 160, 2), (9, 256, None), (9, 800, None), (5, 256, 1),
     (1, 4000, None)],
)
def test_row_layout_choice(num_rows, row_bytes, rows_per_chunk):
    # At most 5 arrays, each of at most 512 bytes with its scratch row, or none.
    layout = trajectory_module._RowLayout.small(num_rows, row_bytes)
    assert (layout and layout.rows_per_chunk) == rows_per_chunk
    if layout:
        arrays = layout.zeros(jnp.zeros(row_bytes // 8))
        assert len(arrays) <= 5 and all(a.nbytes <= trajectory_module._SMALL_BUFFER_BYTES for a in arrays)


@pytest.mark.parametrize("d, is_small", [(2, True), (4, True), (10, True), (20, True), (21, False), (100, False)])
def test_small_models_keep_every_buffer_of_the_loop_small(d, is_small):
    # XLA:CPU runs a loop body in order, at half the cost, only if every buffer
    # is small: checkpoints and the flat proposal. A 4-D model's checkpoints
    # packed in one 1.7 KB array cost it 1.3x a step.
    span_starts = trajectory_module._SpanStarts.choose(9, jnp.zeros(d))
    assert (span_starts.layout is not None) == is_small
    checkpoints = jax.tree.leaves(span_starts.zeros(jnp.zeros(d)))
    zeros = jnp.zeros(d)
    proposal = trajectory_module._packed(integrator_state(zeros, zeros, 0.0, zeros, lambda p: p), jnp.zeros(()))
    assert (max(a.nbytes for a in checkpoints + [proposal]) <= trajectory_module._SMALL_BUFFER_BYTES) == is_small


@pytest.mark.parametrize("rows_per_chunk", [1, 3, 7])
def test_row_layout_writes_and_reads_rows(rows_per_chunk):
    layout = trajectory_module._RowLayout(7, rows_per_chunk)
    write, read = jax.jit(layout.write), jax.jit(layout.read)
    rng = np.random.default_rng(0)
    expected = np.zeros((7, 4))
    arrays = layout.zeros(jnp.zeros(4))
    for _ in range(30):
        # Unwanted writes: any row number (-1 included, as a leaf without one asks).
        index, value, is_written = int(rng.integers(-1, 7)), rng.normal(size=4), bool(rng.random() < 0.6)
        is_written &= index >= 0
        arrays = write(arrays, jnp.int32(index), jnp.asarray(value), jnp.asarray(is_written))
        if is_written:
            expected[index] = value
        np.testing.assert_array_equal([read(arrays, jnp.int32(i)) for i in range(7)], expected)


@pytest.mark.parametrize("small_buffer_bytes, max_chunks, rows_per_chunk", [(512, 0, None), (304, 5, 2), (1024, 1, 9)])
def test_checkpoint_layouts_give_the_same_trajectories(monkeypatch, small_buffer_bytes, max_chunks, rows_per_chunk):
    # The 12-D case keeps rows of 96 bytes in 3 arrays of 4 rows (and a
    # scratch row); force one packed array of (velocity, sum) rows, 5 arrays
    # of 2 rows, or one array of all 9 rows.
    args = TREE_CASES["normal_12d_chunked"][:6]
    assert trajectory_module._SpanStarts.choose(9, jnp.zeros(12)).layout.rows_per_chunk == 4
    default = kernel_trajectories(*args, num_keys=200)
    monkeypatch.setattr(trajectory_module, "_SMALL_BUFFER_BYTES", small_buffer_bytes)
    monkeypatch.setattr(trajectory_module, "_MAX_CHUNKS", max_chunks)
    layout = trajectory_module._SpanStarts.choose(9, jnp.zeros(12)).layout
    assert (layout and layout.rows_per_chunk) == rows_per_chunk
    forced = kernel_trajectories(*args, num_keys=200)
    jax.tree.map(np.testing.assert_array_equal, forced, default)


def test_uniforms_are_those_of_jax_random():
    # The trajectory's uniforms are jax.random.uniform(key, (2 * depth + 2**depth,)),
    # hashed unrolled where each is used: the same bits under JAX's default
    # Threefry settings, and the Random123 known answer.
    known = trajectory_module._threefry2x32(jnp.asarray([0x13198A2E, 0x03707344], jnp.uint32),
                                           jnp.asarray([0x243F6A88, 0x85A308D3], jnp.uint32))
    assert [int(word) for word in known] == [0xC4923A9C, 0x483DF7A0]
    key = jax.random.key(42)
    words = jax.random.key_data(key)
    depth = 10
    for dtype in (jnp.float64, jnp.float32):
        expected = jax.random.uniform(key, (2 * depth + 2**depth,), dtype)
        count = jnp.arange(2 * depth, dtype=jnp.uint32).reshape(depth, 2)
        np.testing.assert_array_equal(trajectory_module._threefry_uniform(words, count, dtype),
                                      expected[: 2 * depth].reshape(depth, 2))
        numbers = jnp.arange(0, 2**depth, 7, dtype=jnp.uint32)
        leaf_uniforms = trajectory_module._threefry_uniform(words, 2 * depth + numbers, dtype)
        np.testing.assert_array_equal(leaf_uniforms, expected[2 * depth + numbers])


def test_vmapped_trajectories_equal_one_at_a_time():
    # Per-chain randomness stays per chain under vmap (lax.rng_bit_generator,
    # for one, batches by drawing every chain's bits from the first key).
    logdensity_fn, position, momentum, inverse_mass_matrix, step_size, _, _ = TREE_CASES["correlated_identity"]
    metric = gaussian_euclidean(jnp.asarray(inverse_mass_matrix))
    step_fn = velocity_verlet(logdensity_fn, metric.velocity_fn)
    position = jnp.asarray(position)
    state = integrator_state(position, jnp.asarray(momentum), *jax.value_and_grad(logdensity_fn)(position),
                             metric.velocity_fn)
    one = lambda key: build_trajectory(key, state, step_fn, metric, step_size, 10, 1000.0)  # noqa: E731
    keys = jax.random.split(jax.random.key(5), 16)
    vmapped, mapped = jax.jit(jax.vmap(one))(keys), jax.jit(lambda keys: jax.lax.map(one, keys))(keys)
    for name in ("depth", "num_steps", "is_turning", "is_divergent"):
        np.testing.assert_array_equal(getattr(vmapped, name), getattr(mapped, name))
    # Floats to rounding: the two programs are compiled differently.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-12), vmapped.proposal, mapped.proposal)


# --------------------------------------------------------------------------
# (b) statistics: known distributions within 4 Monte Carlo standard errors
# --------------------------------------------------------------------------


def sample(logdensity_fn, position, step_size, inverse_mass_matrix, num_draws, num_chains, seed=0, kernel=None):
    """Run chains of the kernel inside a jit-compiled ``lax.scan``.

    The chains run one after the other through one compiled program. Returns
    draws (chain, draw, dim), their log densities (chain, draw) and the
    stacked NUTSInfo, all as NumPy arrays.
    """
    kernel = kernel or nuts.build_kernel()

    @jax.jit
    def chain(key):
        def one_step(state, key):
            state, info = kernel(key, state, logdensity_fn, step_size, inverse_mass_matrix)
            return state, (state.position, state.logdensity, info)

        state = nuts.init(position, logdensity_fn)
        return jax.lax.scan(one_step, state, jax.random.split(key, num_draws))[1]

    chains = [chain(key) for key in jax.random.split(jax.random.key(seed), num_chains)]
    return jax.tree.map(lambda *arrays: np.stack(arrays), *chains)


def z_scores(draws_of_f, truths):
    """(mean - truth) / MCSE for each column of ``draws_of_f`` (chain, draw, k)."""
    scores = []
    for k, truth in enumerate(truths):
        values = draws_of_f[..., k]
        assert az.rhat(values) < 1.02  # 1.01 is within R-hat's own noise at 4 x 500 draws
        scores.append((values.mean() - truth) / az.mcse(values, method="mean"))
    return np.array(scores)


def correlated_gaussian_scores(inverse_mass_matrix, step_size, seed=0):
    draws, _, info = sample(correlated_logdensity, jnp.zeros(2), step_size, inverse_mass_matrix, 1000, 4, seed)
    scale = np.sqrt(np.diag(CORRELATED_COVARIANCE))
    standardized = draws / scale
    functions = np.stack(
        [draws[..., 0], draws[..., 1], standardized[..., 0] ** 2, standardized[..., 1] ** 2,
         standardized[..., 0] * standardized[..., 1]],
        axis=-1,
    )
    return z_scores(functions, [0.0, 0.0, 1.0, 1.0, 0.9]), info


@pytest.mark.parametrize(
    "inverse_mass_matrix, step_size",
    [(CORRELATED_COVARIANCE, 0.8), (np.diag(CORRELATED_COVARIANCE), 0.4)],
    ids=["dense", "diagonal"],
)
def test_correlated_gaussian_moments(inverse_mass_matrix, step_size):
    scores, info = correlated_gaussian_scores(jnp.asarray(inverse_mass_matrix), step_size)
    assert np.all(np.abs(scores) < 4), scores
    assert not np.any(info.is_divergent)


def test_broken_kernel_fails_the_statistical_check(monkeypatch):
    # A classic bug: the momentum is drawn from N(0, I) while the kinetic
    # energy uses the dense inverse mass matrix. The check above must fail.
    def inconsistent_metric(inverse_mass_matrix):
        identity = metrics.gaussian_euclidean(jnp.ones(inverse_mass_matrix.shape[0]))
        return metrics.gaussian_euclidean(inverse_mass_matrix)._replace(
            sample_momentum_fn=identity.sample_momentum_fn
        )

    monkeypatch.setattr(nuts, "gaussian_euclidean", inconsistent_metric)
    scores, _ = correlated_gaussian_scores(jnp.asarray(CORRELATED_COVARIANCE), 0.8)
    assert np.max(np.abs(scores)) > 4, scores


def test_standard_normal_50d_moments():
    dim = 50
    draws, _, info = sample(standard_normal_logdensity, jnp.zeros(dim), 0.6, jnp.ones(dim), 500, 4, seed=1)
    scores = z_scores(np.concatenate([draws, draws**2], axis=-1), [0.0] * dim + [1.0] * dim)
    assert np.all(np.abs(scores) < 4), scores
    assert np.all(az.ess(draws[..., 0] ** 2) > 500)
    assert not np.any(info.is_divergent)


def test_skewed_log_gamma_mean_and_quantiles():
    # y = log x with x ~ Gamma(3): log density 3 y - exp(y) (Jacobian included).
    shape = 3.0
    draws, _, _ = sample(lambda y: shape * y[0] - jnp.exp(y[0]), jnp.zeros(1), 0.8, jnp.ones(1), 1000, 4, seed=2)
    y = draws[..., 0]
    scores = z_scores(np.stack([y, np.exp(y)], axis=-1), [special.digamma(shape), shape])
    assert np.all(np.abs(scores) < 4), scores
    for prob in (0.05, 0.5, 0.95):
        truth = np.log(stats.gamma.ppf(prob, shape))
        assert abs(np.quantile(y, prob) - truth) < 4 * az.mcse(y, method="quantile", prob=prob), prob


# --------------------------------------------------------------------------
# (c) divergences
# --------------------------------------------------------------------------


def test_huge_step_size_diverges_and_keeps_the_state():
    state = nuts.init(jnp.array([0.3, -0.2]), standard_normal_logdensity)
    kernel = nuts.build_kernel()
    step = jax.jit(jax.vmap(lambda key: kernel(key, state, standard_normal_logdensity, 100.0, jnp.ones(2))))
    new_state, info = jax.tree.map(np.asarray, step(jax.random.split(jax.random.key(4), 50)))
    is_divergent = info.is_divergent
    assert np.mean(is_divergent) > 0.9
    assert not np.any(info.is_turning[is_divergent])
    # Diverging on the first step leaves only the start point to select.
    first = is_divergent & (info.num_integration_steps == 1)
    assert first.sum() > 0 and np.all(info.tree_depth[first] == 0)
    np.testing.assert_array_equal(np.asarray(new_state.position)[first], np.tile(state.position, (first.sum(), 1)))


def test_nan_log_density_is_a_divergence_and_never_selected():
    def logdensity_fn(x):  # NaN beyond x = 1
        return jnp.where(x[0] < 1.0, -0.5 * x[0] ** 2, jnp.nan)

    draws, _, info = sample(logdensity_fn, jnp.zeros(1), 0.5, jnp.ones(1), 300, 2, seed=5)
    assert info.is_divergent.sum() > 10
    assert np.all(draws < 1.0) and np.all(np.isfinite(info.energy))


def test_funnel_diverges():
    # Neal's funnel, centred: v ~ N(0, 3), x | v ~ N(0, exp(v / 2)).
    def logdensity_fn(z):
        v, x = z[0], z[1:]
        return -(v**2) / 18 - 0.5 * jnp.sum(x**2) * jnp.exp(-v) - 0.5 * x.size * v

    draws, _, info = sample(logdensity_fn, jnp.zeros(10), 1.0, jnp.ones(10), 200, 2, seed=6)
    assert info.is_divergent.sum() > 20
    assert np.all(np.isfinite(draws))
