"""One chain: the compiled NUTS program, warmup and sampling in one scan, run chunk by chunk.

The program advances a chain by ``chunk`` steps of ONE ``lax.scan`` with one
NUTS kernel; the adaptation is updated only during the first ``tune`` steps
(sharing the kernel between warmup and sampling halves the compiled code).
At step 0 it also initialises the chain: it finds a starting point with a
finite log density and gradient (the model's central values, jittered, up
to ``MAX_START_ATTEMPTS`` tries) inside the same program, so a first call
compiles one program only. Between chunks, Python updates the
progress bar and can stop the chain, so the program holds no host callback
and JAX's persistent compilation cache can keep it across processes. Each
step's random key is ``fold_in(key, step)``: the draws do not depend on the
chunk size (with or without a progress bar, the same seed gives the same
draws).
"""

from __future__ import annotations

import math
import threading
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from posteria.adaptation import ADAPTATIONS
from posteria.compiler import compile_lowered, garbage_collection_paused
from posteria.logdensity import LogDensity, initial_position_fn
from posteria.mcmc import nuts
from posteria.mcmc.metrics import dense_inverse_mass_matrix

_UPDATES_PER_RUN = 50  # progress-bar updates, when there is a bar
MAX_START_ATTEMPTS = 20  # jittered starting points tried before a chain gives up


class ChainSettings(NamedTuple):
    """What a compiled chain program is specialised to (besides the data shapes)."""

    tune: int
    draws: int
    target_accept: float
    dense_mass: bool
    max_treedepth: int
    chunk: int
    adaptation: str
    dtype: str
    jitter: float
    compile_mode: str

    @property
    def num_steps(self) -> int:
        return self.tune + self.draws


class ChainCarry(NamedTuple):
    """What the chain program carries from chunk to chunk."""

    state: nuts.HMCState
    adaptation: tuple
    num_divergent: jax.Array
    start: jax.Array  # the starting point found at step 0
    is_start_finite: jax.Array  # whether its log density and gradient are finite


class InvalidStartError(Exception):
    """No starting point with a finite log density and gradient; ``position`` is the last one tried."""

    def __init__(self, position: np.ndarray):
        super().__init__("no starting point with a finite log density and gradient")
        self.position = position


class ChainProgram(NamedTuple):
    """A compiled chain program with what is needed to call it.

    ``advance(carry, seed, chain, start, use_start, first_step, data) -> (carry, outputs)``
    runs ``settings.chunk`` steps from ``first_step``; at step 0 the chain
    starts at ``start`` if ``use_start``, else at a jittered central point.
    ``blank_carry`` is the carry to pass at step 0; ``jaxpr`` is the traced
    program (see :func:`posteria.sampling.parallel.concurrent_chains`).
    """

    advance: Callable
    blank_carry: tuple
    jaxpr: object
    settings: ChainSettings


def chunk_size(num_steps: int, with_progress: bool) -> int:
    """Steps per compiled call: all of them without a bar, else a divisor near 2% of them.

    Examples
    --------
    >>> chunk_size(2000, with_progress=False), chunk_size(2000, with_progress=True)
    (2000, 40)
    >>> chunk_size(2003, with_progress=True)  # no divisor nearby: the last chunk runs over
    41
    """
    if not with_progress:
        return num_steps
    target = max(1, num_steps // _UPDATES_PER_RUN)
    divisors = [d for d in range(max(1, target // 2), 2 * target + 1) if num_steps % d == 0]
    if divisors:
        return min(divisors, key=lambda d: abs(d - target))
    return math.ceil(num_steps / _UPDATES_PER_RUN)


def compiled_chain(ld: LogDensity, settings: ChainSettings, start: np.ndarray, data: dict) -> ChainProgram:
    """The compiled program for these settings and data shapes (cached in ``ld.programs``).

    Its arguments are NumPy values and the seed and chain are plain integers
    (the chain's key is made inside), so calling it compiles nothing else.
    """
    signature = ("chain", settings, start.shape, shapes_of(data))
    cache = ld.programs
    if signature not in cache:
        started_carry, advance = _chain_program(ld, settings)
        arguments = (seed_words(0), np.int32(0), start, np.bool_(False))
        state = nuts.HMCState(start, np.zeros((), start.dtype), start)  # its shapes, without tracing a gradient
        with garbage_collection_paused():
            shapes = jax.eval_shape(started_carry, state, data)
            blank = jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), shapes)
            traced = jax.jit(advance).trace(blank, *arguments, np.int32(0), data)
            compiled = compile_lowered(traced.lower(), settings.compile_mode, dtype=settings.dtype)
        cache[signature] = ChainProgram(compiled, blank, traced.jaxpr, settings)
    return cache[signature]


def shapes_of(data: dict) -> tuple:
    """What a compiled program's cache key needs of its data: names, shapes and dtypes.

    Examples
    --------
    >>> shapes_of({"y": np.zeros(3)})
    (('y', (3,), '<f8'),)
    """
    return tuple((k, v.shape, v.dtype.str) for k, v in data.items())


def in_precision(value, dtype: str) -> np.ndarray:
    """``value`` as a chain program of precision ``dtype`` takes it: float32 narrows 64-bit numbers.

    Examples
    --------
    >>> in_precision([1.5, 2.0], "float32").dtype, in_precision(np.arange(2), "float32").dtype
    (dtype('float32'), dtype('int32'))
    >>> in_precision([1.5], "float64").dtype
    dtype('float64')
    """
    value = np.asarray(value)
    if dtype == "float32" and value.dtype.itemsize == 8 and value.dtype.kind in "fiu":
        return value.astype(f"{value.dtype.kind}4")
    return value


def program_data(ld: LogDensity, dtype: str) -> dict[str, np.ndarray]:
    """The data arguments of a chain program: ``ld``'s data with its transposed copies, in precision ``dtype``.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as model:
    ...     beta = pa.Normal("beta", 0.0, 1.0, shape=2)
    ...     y = pa.Normal("y", np.ones((5, 2)) @ beta, 1.0, observed=np.zeros(5))
    >>> {key: value.shape for key, value in program_data(model.compile_logp(), "float32").items()}
    {'_constant_...': (5, 2), '_constant_...': (5,), '_constant_....T': (2, 5)}
    """
    return {key: in_precision(value, dtype) for key, value in ld.data(transposed=True).items()}


def seed_words(seed: int) -> np.ndarray:
    """The key data of ``jax.random.key(seed)`` (threefry: high and low 32 bits), made without JAX.

    Examples
    --------
    >>> import jax
    >>> seed = 2**40 + 7
    >>> bool((seed_words(seed) == jax.random.key_data(jax.random.key(seed))).all())
    True
    """
    return np.array([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], dtype=np.uint32)


def run_chain(program: ChainProgram, seed: int, chain: int, start: np.ndarray, use_start: bool, data: dict,
              on_chunk: Callable[[int, int], None], stop: threading.Event) -> tuple[dict, np.ndarray]:
    """Run chain number ``chain`` chunk by chunk; returns its sampling statistics and unconstrained draws.

    The chain's random key is ``fold_in(jax.random.key(seed), chain)``.

    ``on_chunk(steps_done, num_divergent)`` is called after every chunk; a set
    ``stop`` event ends the chain early (``KeyboardInterrupt`` in the caller).
    Raises :class:`InvalidStartError` when no finite starting point was found.
    """
    settings = program.settings
    carry, parts = program.blank_carry, []
    for first_step in range(0, settings.num_steps, settings.chunk):
        if stop.is_set():
            raise KeyboardInterrupt
        carry, outputs = program.advance(carry, seed_words(seed), np.int32(chain), start, np.bool_(use_start),
                                         np.int32(first_step), data)
        if first_step == 0 and not bool(carry.is_start_finite):
            raise InvalidStartError(np.asarray(carry.start))
        parts.append(jax.tree_util.tree_map(np.asarray, outputs))
        on_chunk(min(first_step + settings.chunk, settings.num_steps), int(carry.num_divergent))
    outputs = jax.tree_util.tree_map(lambda *xs: np.concatenate(xs)[settings.tune: settings.num_steps], *parts)
    positions, logdensity, info, step_size = outputs
    stats = {
        "logdensity": logdensity,
        "is_divergent": info.is_divergent,
        "tree_depth": info.tree_depth,
        "num_integration_steps": info.num_integration_steps,
        "acceptance_rate": info.acceptance_rate,
        "energy": info.energy,
        "energy_error": info.energy_error,
        "reached_max_treedepth": info.tree_depth >= settings.max_treedepth,
        "step_size": step_size,
        "inverse_mass_matrix": np.asarray(dense_inverse_mass_matrix(
            jax.tree_util.tree_map(np.asarray, carry.adaptation.inverse_mass_matrix))),
    }
    return stats, positions


def _chain_program(ld: LogDensity, settings: ChainSettings) -> tuple[Callable, Callable]:
    """``started_carry(state, data) -> carry`` (the carry of a chain starting at ``state``) and
    ``advance(carry, seed, chain, start, use_start, first_step, data)``."""
    tune = settings.tune
    kernel = nuts.build_kernel(max_tree_depth=settings.max_treedepth)
    position_fn = initial_position_fn(ld, settings.jitter)
    # Jitted, the model is traced once for the start's gradient and the leapfrog's, not twice; the same
    # compiled code. Tracing a chain program again in one process: linear regression 0.20 -> 0.12 s, stochastic
    # volatility 0.37 -> 0.17 s (a fresh process's first trace gains less: it also pays JAX's warm-up).
    model_logdensity = jax.jit(ld.logdensity_fn)
    max_attempts = MAX_START_ATTEMPTS if settings.jitter > 0 else 1

    def steps_for(data):
        logdensity_fn = lambda theta: model_logdensity(theta, data)  # noqa: E731
        steps = ADAPTATIONS[settings.adaptation](
            logdensity_fn, max(tune, 1), target_accept=settings.target_accept, dense_mass=settings.dense_mass
        )
        return logdensity_fn, steps

    def find_start(key, start, use_start, data, logdensity_fn) -> nuts.HMCState:
        """``start`` if ``use_start``, else jittered central points until density and gradient are finite."""

        def attempt(number_and_state):
            number, _ = number_and_state
            position = jnp.where(use_start, start, position_fn(jax.random.fold_in(key, number), data))
            return number + 1, nuts.init(position, logdensity_fn)

        def is_searching(number_and_state):
            number, state = number_and_state
            return (number == 0) | ~_is_finite(state) & (number < jnp.where(use_start, 1, max_attempts))

        untried = nuts.HMCState(start, jnp.array(-jnp.inf, start.dtype), jnp.zeros_like(start))
        _, state = jax.lax.while_loop(is_searching, attempt, (0, untried))
        return state

    def chain_keys(seed, chain):
        """The keys of the chain's start and of its steps."""
        return jax.random.split(jax.random.fold_in(jax.random.wrap_key_data(seed), chain))

    def started_carry(state, data):
        _, (init, _, _) = steps_for(data)
        return ChainCarry(state, init(state), jnp.int32(0), state.position, _is_finite(state))

    def advance(carry, seed, chain, start, use_start, first_step, data):
        logdensity_fn, (_, update, transition) = steps_for(data)
        start_key, scan_key = chain_keys(seed, chain)
        carry = jax.lax.cond(
            first_step == 0,
            lambda: started_carry(find_start(start_key, start, use_start, data, logdensity_fn), data),
            lambda: carry,
        )

        def one_step(carry, index):
            state, adaptation, num_divergent = carry.state, carry.adaptation, carry.num_divergent
            is_warmup = index < tune
            state, info, adaptation, step_size = transition(
                jax.random.fold_in(scan_key, index), state, adaptation, is_warmup, kernel
            )
            adaptation = jax.lax.cond(
                is_warmup,
                lambda: update(jnp.minimum(index, tune - 1), state, adaptation, info),
                lambda: adaptation,
            )
            num_divergent = num_divergent + (info.is_divergent & ~is_warmup)
            carry = carry._replace(state=state, adaptation=adaptation, num_divergent=num_divergent)
            return carry, (state.position, state.logdensity, info, step_size)

        return jax.lax.scan(one_step, carry, first_step + jnp.arange(settings.chunk))

    return started_carry, advance


def _is_finite(state: nuts.HMCState) -> jax.Array:
    return jnp.isfinite(state.logdensity) & jnp.all(jnp.isfinite(state.logdensity_grad))
