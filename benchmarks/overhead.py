"""posteria's sampler overhead: time per gradient inside NUTS over the time of a bare compiled gradient.

Both are timed on one chain, in one compiled program each, compiled in the
compile mode the fit used (``idata.attrs["compile_mode"]``), with the model's
data passed as arguments (as ``pa.sample`` does):

- NUTS: a loop of NUTS transitions (``posteria.mcmc.nuts``) with the step
  size and inverse mass matrix that ``pa.sample`` adapted, started at a
  posterior draw; seconds over the leapfrog steps taken. The clock covers the
  program alone, which also sums its steps: making its key and summing the
  steps in a program of their own took about a millisecond a call, timed with
  it, 5% of a diamonds timing of 100 transitions.
- bare gradient: ``jax.value_and_grad`` of the model's log density, evaluated
  many times inside one ``lax.fori_loop`` (no Python dispatch per call), at a
  point carried by the loop that moves every iteration (``1e-9`` times the
  gradient), so nothing is hoisted out of the loop. (A point computed from the
  loop counter, ``theta + 1e-9 * i``, let XLA fuse that sum into the logistic
  regression's kernels and doubled their time under ``fast_compile``.)

The two are timed in turns, nine times each, each timing about as long as
the others (at least ``target_seconds``), and the ratio is the median of the
turns' ratios, with its quartiles: a shared machine's speed drifts over
seconds, and a turn's two timings see about the same speed. (The fastest of
five of each, taken apart, moved the diamonds' ratio between 1.25 and 1.46
in identical runs.)

A ratio near 1 means NUTS adds little beyond the gradients it needs. A
leapfrog step also needs one product of its gradient with the inverse mass
matrix, whatever the bookkeeping around it: the same loop with that product
after each gradient (``velocity_fn``) is timed in the same turns, the floor
of a sampler with that metric. With a low-rank metric that product is not
small (stochastic volatility, d = 503 and 64 columns: two passes over a
257 KB basis, 4-5 us against a 15-18 us gradient).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from posteria.adaptation.fisher_dense import MAX_RANK, low_rank_size
from posteria.adaptation.fisher_schedule import build_fisher_schedule, foreground_capacity
from posteria.compiler import compile_lowered
from posteria.mcmc import nuts
from posteria.mcmc.metrics import LowRankInverseMass, gaussian_euclidean

_TURNS = 9  # timings of each, taken in turns; the median of their ratios counts


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - started


def gradient_timer(logdensity_fn: Callable, theta: jax.Array, data: dict, target_seconds: float = 0.3,
                   compile_mode: str = "fast_compile",
                   velocity_fn: Callable[[jax.Array], jax.Array] | None = None) -> Callable[[], float]:
    """A function that times ``value_and_grad`` of ``logdensity_fn(theta, data)`` once: seconds per evaluation.

    The evaluations run inside one ``fori_loop``, as many as take about
    ``target_seconds`` (counted when the timer is made).

    Parameters
    ----------
    logdensity_fn
        ``(theta, data) -> scalar``, pure JAX.
    theta, data
        Where to start (the point then moves by ``1e-9`` times the gradient at each evaluation).
    target_seconds
        About how long each timing runs.
    compile_mode
        A key of :data:`posteria.compiler.COMPILE_MODES`.
    velocity_fn
        If given, each evaluation also multiplies the gradient by it (a
        metric's ``M^{-1}``, as a leapfrog step does) and the point moves along the product.

    Examples
    --------
    >>> fn = lambda theta, data: -0.5 * jnp.sum((theta - data["m"]) ** 2)
    >>> time_once = gradient_timer(fn, jnp.zeros(3), {"m": jnp.ones(3)}, target_seconds=0.01)
    >>> 0 < time_once() < 1e-3
    True
    """
    value_and_grad = jax.value_and_grad(logdensity_fn)

    def loop(theta, data, num_evaluations):
        def body(i, carry):  # the point moves along the gradient, as a sampler's does
            point, total = carry
            value, grad = value_and_grad(point, data)
            direction = grad if velocity_fn is None else velocity_fn(grad)
            return point + 1e-9 * direction, total + value

        return jax.lax.fori_loop(0, num_evaluations, body, (theta, jnp.zeros((), theta.dtype)))

    loop = compile_lowered(jax.jit(loop).lower(theta, data, 1), compile_mode, dtype=theta.dtype.name)
    num_evaluations = 16
    while (seconds := _timed(lambda: loop(theta, data, num_evaluations))) < target_seconds / 4:
        num_evaluations *= 4
    num_evaluations = max(1, int(num_evaluations * target_seconds / max(seconds, 1e-9)))
    return lambda: _timed(lambda: loop(theta, data, num_evaluations)) / num_evaluations


def nuts_timer(logdensity_fn: Callable, theta: jax.Array, data: dict, step_size: float,
               inverse_mass_matrix: jax.Array | LowRankInverseMass, num_transitions: int = 100,
               compile_mode: str = "fast_compile") -> Callable[[int], tuple[float, int]]:
    """A function ``time_once(seed)`` that runs ``num_transitions`` NUTS transitions with fixed parameters from
    ``theta``: seconds per leapfrog step, and the leapfrog steps taken.

    The transitions run in a ``lax.scan`` of static length, as ``pa.sample``
    runs them (a ``fori_loop`` of run-time length took 20% longer per step on
    the diamonds model).

    Parameters
    ----------
    logdensity_fn
        ``(theta, data) -> scalar``, pure JAX.
    theta, data
        The starting position (best a posterior draw) and the data.
    step_size, inverse_mass_matrix
        The adapted NUTS parameters, held fixed.
    num_transitions
        Transitions per timing.
    compile_mode
        A key of :data:`posteria.compiler.COMPILE_MODES`.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15.

    Examples
    --------
    >>> fn = lambda theta, data: -0.5 * jnp.sum(theta**2)
    >>> time_once = nuts_timer(fn, jnp.zeros(3), {}, 0.7, jnp.ones(3), num_transitions=20)
    >>> seconds, steps = time_once(1)
    >>> seconds > 0, steps >= 20
    (True, True)
    """
    kernel = nuts.build_kernel()

    def run(key, theta, data):
        density = lambda position: logdensity_fn(position, data)  # noqa: E731

        def one_step(state, key):
            state, info = kernel(key, state, density, step_size, inverse_mass_matrix)
            return state, info.num_integration_steps

        return jnp.sum(jax.lax.scan(one_step, nuts.init(theta, density), jax.random.split(key, num_transitions))[1])

    run = compile_lowered(jax.jit(run).lower(jax.random.key(0), theta, data), compile_mode, dtype=theta.dtype.name)

    def time_once(seed: int) -> tuple[float, int]:
        key = jax.block_until_ready(jax.random.key(seed))
        started = time.perf_counter()
        num_steps = int(jax.block_until_ready(run(key, theta, data)))
        return (time.perf_counter() - started) / num_steps, num_steps

    return time_once


def adapted_metric(idata) -> jax.Array | LowRankInverseMass:
    """Chain 0's inverse mass matrix, in the form its kernel used.

    ``idata`` stores it multiplied out. After a low-rank warmup the kernel
    held it factored with ``k`` columns (:func:`low_rank_size`), at ``O(d k)``
    per leapfrog step, so it is factored again with as many columns: the
    diagonal scale ``sqrt(diag M)`` and the eigenvectors of the rescaled
    matrix farthest from 1 on a log scale. That is exact when the scale is
    the warmup's and otherwise close; either way it costs what the sampler paid.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.mcmc.metrics import dense_inverse_mass_matrix
    >>> with pa.Model() as model:
    ...     x = pa.MvNormal("x", mu=np.zeros(2), cov=np.array([[4.0, 1.9], [1.9, 1.0]]))
    >>> idata = pa.sample(100, tune=100, chains=1, seed=1, model=model, progressbar=False,
    ...                   adaptation="fisher_low_rank", compute_convergence_checks=False)
    >>> metric = adapted_metric(idata)
    >>> metric.basis.shape, bool(np.allclose(dense_inverse_mass_matrix(metric),
    ...                                      idata.sample_stats["inverse_mass_matrix"].values[0]))
    ((2, 2), True)
    """
    matrix = np.asarray(idata.sample_stats["inverse_mass_matrix"].values[0])
    if idata.attrs.get("adaptation") != "fisher_low_rank":
        return jnp.asarray(matrix)
    scale = np.sqrt(np.diag(matrix))
    values, vectors = np.linalg.eigh(matrix / np.outer(scale, scale))
    capacity = foreground_capacity(build_fisher_schedule(int(idata.attrs["tuning_steps"])))
    order = np.argsort(-np.abs(np.log(values)))[: low_rank_size(len(scale), capacity, MAX_RANK)]
    return LowRankInverseMass(jnp.asarray(scale), jnp.asarray(vectors[:, order]), jnp.asarray(values[order]))


def sampler_overhead(model, idata, num_transitions: int = 100, target_seconds: float = 0.2) -> dict[str, float]:
    """Overhead of posteria's NUTS on ``model``, with the adaptation found in ``idata`` (from ``pa.sample``).

    NUTS starts at the last draw of chain 0, with that chain's final step
    size and inverse mass matrix (factored as its kernel had it:
    :func:`adapted_metric`). A NUTS timing runs ``num_transitions``
    transitions, or more if they take under ``target_seconds``.

    Returns ``nuts_us_per_grad``, ``bare_us_per_grad`` and
    ``floor_us_per_grad`` (a gradient and its product with the metric),
    each the median over the turns; ``overhead`` (NUTS over bare), with
    ``overhead_low`` and ``overhead_high``, and ``overhead_over_floor``
    (NUTS over floor): medians and quartiles of the turns' ratios; and
    ``num_steps`` (leapfrog steps timed, over all the turns).

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as model:
    ...     mu = pa.Normal("mu", 0.0, 1.0, shape=3)
    >>> idata = pa.sample(50, tune=50, chains=1, seed=1, model=model, progressbar=False,
    ...                   compute_convergence_checks=False)
    >>> out = sampler_overhead(model, idata, num_transitions=20, target_seconds=0.01)
    >>> out["num_steps"] >= 9 * 20, out["overhead"] > 0
    (True, True)
    """
    ld = model.compile_logp()
    data = {key: jnp.asarray(value) for key, value in ld.data().items()}
    point = {rv.name: np.asarray(idata.posterior[rv.name].values[0, -1]) for rv in model.free_RVs}
    theta = jnp.asarray(ld.unconstrain(point))
    step_size = float(idata.sample_stats["step_size"].values[0, -1])
    inverse_mass_matrix = adapted_metric(idata)
    mode = idata.attrs.get("compile_mode", "fast_runtime")

    def warm_nuts_timer(num_transitions: int) -> tuple[Callable[[int], tuple[float, int]], float, int]:
        time_nuts = nuts_timer(ld.logdensity_fn, theta, data, step_size, inverse_mass_matrix, num_transitions, mode)
        time_nuts(0)  # a program's first call is slower
        return time_nuts, *time_nuts(0)

    time_nuts, seconds, steps = warm_nuts_timer(num_transitions)
    if seconds * steps < target_seconds:  # more transitions, in a program of its own
        time_nuts, seconds, steps = warm_nuts_timer(int(np.ceil(num_transitions * target_seconds / (seconds * steps))))
    time_bare = gradient_timer(ld.logdensity_fn, theta, data, target_seconds=seconds * steps, compile_mode=mode)
    time_floor = gradient_timer(ld.logdensity_fn, theta, data, target_seconds=seconds * steps, compile_mode=mode,
                                velocity_fn=gaussian_euclidean(inverse_mass_matrix).velocity_fn)
    turns = []
    for turn in range(1, _TURNS + 1):  # in turns: all three see the machine at about the same speed
        seconds, steps = time_nuts(turn)
        turns.append((seconds, time_bare(), time_floor(), steps))
    return _summary(turns)


def _summary(turns: list[tuple[float, float, float, int]]) -> dict[str, float]:
    """:func:`sampler_overhead`'s numbers from its turns, ``(nuts_s, bare_s, floor_s, steps)`` each.

    Examples
    --------
    >>> out = _summary([(2e-6, 1e-6, 1e-6, 10), (3e-6, 1e-6, 2e-6, 12), (8e-6, 2e-6, 4e-6, 14)])
    >>> [round(out[key], 6) for key in ("overhead", "overhead_low", "overhead_high", "overhead_over_floor")]
    [3.0, 2.5, 3.5, 2.0]
    >>> round(out["nuts_us_per_grad"], 6), out["num_steps"]
    (3.0, 36)
    """
    nuts_s, bare_s, floor_s, steps = np.array(turns).T
    low, overhead, high = np.percentile(nuts_s / bare_s, [25, 50, 75])
    return {"nuts_us_per_grad": 1e6 * float(np.median(nuts_s)), "bare_us_per_grad": 1e6 * float(np.median(bare_s)),
            "overhead": float(overhead), "overhead_low": float(low), "overhead_high": float(high),
            "floor_us_per_grad": 1e6 * float(np.median(floor_s)),
            "overhead_over_floor": float(np.median(nuts_s / floor_s)), "num_steps": int(steps.sum())}
