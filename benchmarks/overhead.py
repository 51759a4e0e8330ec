"""posteria's sampler overhead: time per gradient inside NUTS over the time of a bare compiled gradient.

Both are timed on one chain, in one compiled program each, compiled in the
compile mode and precision the fit used, with the model's
data passed as arguments (as ``pa.sample`` does):

- NUTS: ``pa.sample``'s own chain program, continuing chain 0 of the fit
  through its warmup and then timed in its sampling phase, a chunk of
  transitions per call (:class:`SamplingChain`); seconds over the leapfrog
  steps taken. The clock covers the call alone.
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

from posteria.compiler import compile_lowered
from posteria.mcmc.metrics import LowRankInverseMass, gaussian_euclidean
from posteria.sampling.chain import compiled_chain, in_precision, program_data, seed_words

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


class SamplingChain:
    """Chain 0 of a fit, continued by ``pa.sample``'s own chain program, and timed a chunk at a time.

    The program is the fit's (:func:`posteria.sampling.chain.compiled_chain`
    with the fit's settings), compiled for chunks of ``num_transitions``
    transitions instead of the whole run: its warmup adapts the step size and
    metric, and the chunks after warmup are the sampling phase, step for step
    what ``pa.sample`` runs. (A look-alike, NUTS transitions in a loop with
    the adapted step size and metric held fixed, can mislead: with XLA's
    loop-invariant code motion off, it ran 15-25% slower per step on the
    diamonds model, ``pa.sample``'s program 3-7%.)

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as model:
    ...     mu = pa.Normal("mu", 0.0, 1.0, shape=3)
    >>> idata = pa.sample(50, tune=50, chains=1, seed=1, model=model, progressbar=False,
    ...                   compute_convergence_checks=False)
    >>> chain = SamplingChain(model, idata)
    >>> chain.warm_up(num_transitions=20)  # 60 transitions: the 50 of warmup, in chunks of 20
    >>> seconds, steps = chain.run(num_transitions=20)
    >>> chain.next_step, seconds > 0, steps >= 20
    (80, True, True)
    >>> chain.settings.tune, chain.settings.draws  # the fit's program, recompiled for chunks of 20
    (50, 50)
    """

    def __init__(self, model, idata):
        self.ld = model.compile_logp()
        fit = (int(idata.attrs["tuning_steps"]), idata.posterior.sizes["draw"], idata.attrs["adaptation"],
               idata.attrs["compile_mode"])
        fits = [program.settings for key, program in self.ld.programs.items() if key[0] == "chain"
                and (program.settings.tune, program.settings.draws, program.settings.adaptation,
                     program.settings.compile_mode) == fit]
        if not fits:
            raise ValueError("no chain program of this fit: time it after pa.sample, in the same process")
        self.settings = fits[-1]  # the newest: idata does not record target_accept, max_treedepth, ...
        self.seed = seed_words(int(idata.attrs["seed"]))
        point = {rv.name: np.asarray(idata.posterior[rv.name].values[0, -1]) for rv in model.free_RVs}
        self.data = program_data(self.ld, self.settings.dtype)
        self.start = in_precision(self.ld.unconstrain(point), self.settings.dtype)
        self.carry, self.next_step = None, 0

    def run(self, num_transitions: int) -> tuple[float, int]:
        """Run the next ``num_transitions`` transitions: their seconds, and their leapfrog steps."""
        with jax.enable_x64(self.settings.dtype == "float64"):  # as pa.sample calls it
            program = compiled_chain(self.ld, self.settings._replace(chunk=num_transitions), self.start, self.data)
            carry = program.blank_carry if self.carry is None else self.carry
            started = time.perf_counter()
            carry, outputs = program.advance(carry, self.seed, np.int32(0), self.start, np.bool_(True),
                                             np.int32(self.next_step), self.data)
            steps = jax.block_until_ready(outputs[2].num_integration_steps)
            seconds = time.perf_counter() - started
        self.carry, self.next_step = carry, self.next_step + num_transitions
        return seconds, int(steps.sum())

    def warm_up(self, num_transitions: int) -> None:
        """Run the warmup, ``num_transitions`` at a time (the last chunk may run past it), and at least one
        chunk: a program's first call is slower."""
        while self.next_step < max(self.settings.tune, 1):
            self.run(num_transitions)

    @property
    def metric(self) -> jax.Array | LowRankInverseMass:
        """The adapted inverse mass matrix, in the form the kernel uses."""
        return self.carry.adaptation.inverse_mass_matrix


def sampler_overhead(model, idata, num_transitions: int = 100, target_seconds: float = 0.2) -> dict[str, float]:
    """Overhead of posteria's NUTS on ``model``, fitted by ``pa.sample`` into ``idata`` in this process.

    Chain 0 is run again by the fit's own chain program (:class:`SamplingChain`),
    from the fit's last draw, through the fit's warmup, in chunks of
    ``num_transitions`` transitions; the sampling phase is then timed a chunk
    at a time (a longer chunk, in a program of its own, when
    ``num_transitions`` take under ``target_seconds``). The gradient timers
    run at that last draw, the floor's with the adapted metric.

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
    chain = SamplingChain(model, idata)
    chain.warm_up(num_transitions)
    seconds, steps = chain.run(num_transitions)
    if seconds < target_seconds:  # more transitions, in a program of its own, warmed by a first call
        num_transitions = int(np.ceil(num_transitions * target_seconds / seconds))
        seconds, steps = chain.run(num_transitions)
    mode = chain.settings.compile_mode
    with jax.enable_x64(chain.settings.dtype == "float64"):
        time_bare = gradient_timer(chain.ld.logdensity_fn, chain.start, chain.data, target_seconds=seconds,
                                   compile_mode=mode)
        time_floor = gradient_timer(chain.ld.logdensity_fn, chain.start, chain.data, target_seconds=seconds,
                                    compile_mode=mode, velocity_fn=gaussian_euclidean(chain.metric).velocity_fn)
        turns = []
        for _ in range(_TURNS):  # in turns: all three see the machine at about the same speed
            seconds, steps = chain.run(num_transitions)
            turns.append((seconds / steps, time_bare(), time_floor(), steps))
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
