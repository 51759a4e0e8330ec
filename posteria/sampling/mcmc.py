"""``pa.sample``: NUTS on a model, chains in parallel, checked before it is returned.

This is the one place that joins a model (through its log density) with the
sampler. Every chain runs the same compiled program (warmup and sampling
together, see :mod:`posteria.sampling.chain`) from a pool of threads, one
per core (see :mod:`posteria.sampling.parallel`); no chain waits for
another's trees (no lock-step ``vmap``). The named constrained values are
computed afterwards, for all chains in one call.
"""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from posteria.adaptation import choose_adaptation
from posteria.compiler import COMPILE_MODES, compile_lowered, garbage_collection_paused
from posteria.diagnostics import check, enforce
from posteria.errors import SamplingError
from posteria.io import to_inference_data
from posteria.logdensity import LogDensity, initial_point
from posteria.model.core import Model, modelcontext
from posteria.sampling.forward import observed_values
from posteria.sampling.parallel import chain_threads, concurrent_chains
from posteria.sampling.chain import (
    ChainSettings, InvalidStartError, chunk_size, compiled_chain, in_precision, program_data, run_chain, shapes_of,
)
from posteria.sampling.progress import ChainProgress
from posteria.sampling.seeds import resolve_seed

_INIT_METHODS = {"auto": (1.0, False), "jitter+adapt_diag": (1.0, False), "adapt_diag": (0.0, False),
                 "jitter+adapt_full": (1.0, True), "adapt_full": (0.0, True)}


def sample(
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    cores: int | None = None,
    target_accept: float = 0.8,
    seed: Any = None,
    max_treedepth: int = 10,
    dense_mass: bool | None = None,
    initvals: dict | Sequence[dict] | None = None,
    progressbar: bool = True,
    on_divergence: str = "raise",
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    idata_kwargs: dict | None = None,
    random_seed: Any = None,
    init: str = "auto",
    return_inferencedata: bool = True,
    compute_convergence_checks: bool = True,
    dtype: str = "float64",
    adaptation: str = "auto",
    compile_mode: str = "fast_compile",
    **kwargs: Any,
) -> Any:
    """Draw from the posterior with NUTS and check the result before returning it.

    Parameters
    ----------
    draws, tune : int
        Draws kept per chain, and warmup steps (step size by dual averaging,
        mass matrix in Stan's doubling windows) before them.
    chains, cores : int
        Independent chains, and how many run at once (default: one per
        available core). A model with batched linear algebra runs at most
        ``cores - 1`` at once (see :mod:`posteria.sampling.parallel`).
    target_accept : float
        Mean acceptance probability the step size is tuned to; raise it
        (0.9 - 0.99) when divergences appear.
    seed : int, optional
        The same seed gives identical draws (``random_seed`` is PyMC's name).
    max_treedepth : int
        Maximum NUTS tree depth (at most ``2**max_treedepth - 1`` gradient
        evaluations per draw).
    dense_mass : bool, optional
        Adapt a dense mass matrix (default: diagonal; ``init="jitter+adapt_full"``
        also asks for dense).
    initvals : dict or list of dicts, optional
        Starting values by variable name (constrained space), for all chains
        or one dict per chain.
    progressbar : bool
        Live progress per chain (draws/s, divergences).
    on_divergence : {"raise", "warn", "ignore"}
        Divergences after warmup mean the draws may be biased: by default
        ``pa.SamplingError`` is raised (its ``idata`` keeps the draws).
    var_names : list of str, optional
        Variables to keep in the posterior (default: free variables and deterministics).
    idata_kwargs : dict, optional
        ``{"log_likelihood": True}`` adds the pointwise log likelihood (for LOO).
    return_inferencedata : bool
        ``False`` returns a dict of arrays ``(chain, draw, *shape)`` instead.
    compute_convergence_checks : bool
        Check R-hat, ESS, divergences, tree depth and E-BFMI (see ``pa.check``).
    adaptation : {"auto", "stan", "fisher", "fisher_low_rank"}
        Warmup method. ``"stan"``: Stan's windows, step size by dual
        averaging, mass matrix from the draws' variances. ``"fisher"``: nutpie's
        mass matrix from draws and gradients (cheaper warmup; diagonal, or the
        dense Fisher metric with ``dense_mass=True``). ``"fisher_low_rank"``:
        diagonal plus a low-rank correction, for correlated posteriors.
        ``"auto"`` (default): ``"fisher_low_rank"`` from 20 unconstrained
        dimensions up, ``"stan"`` below them or with ``dense_mass=True`` (see
        :func:`posteria.adaptation.choose_adaptation`); the choice is in
        ``idata.attrs["adaptation"]``.
    dtype : {"float64", "float32"}
        Precision of the whole sampler. float32 is faster on some hardware but
        makes NUTS diverge where float64 does not; check the result.
    compile_mode : {"fast_compile", "fast_runtime"}
        How XLA compiles the chain program on CPU (see :mod:`posteria.compiler`).
        ``"fast_compile"`` (default) halves most first fits' compile time at a
        cost of 0-10% per gradient (40% on gradients with a scatter, such as
        ``a[group]``); ``"fast_runtime"`` for long runs of such models.

    Returns
    -------
    InferenceData
        With ``posterior``, ``sample_stats``, ``observed_data`` (and
        ``constant_data``, ``log_likelihood`` when present).

    Raises
    ------
    SamplingError
        When divergences occurred (``on_divergence="raise"``) or no valid
        starting point could be found.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> with pa.Model():
    ...     mu = pa.Normal("mu", 0.0, 10.0)
    ...     y = pa.Normal("y", mu, 1.0, observed=np.array([0.5, 1.0, 1.5]))
    ...     idata = pa.sample(seed=1, progressbar=False)
    >>> round(float(idata.posterior["mu"].mean()), 1)
    1.0
    """
    options = _pymc_options(kwargs)
    target_accept = options.get("target_accept", target_accept)
    model = modelcontext(model, what="pa.sample")
    seed = resolve_seed(seed, random_seed)
    if init not in _INIT_METHODS:
        raise ValueError(f"init must be one of {sorted(_INIT_METHODS)}, got {init!r}")
    jitter, init_dense = _INIT_METHODS[init]
    dense_mass = init_dense if dense_mass is None else dense_mass
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept must lie in (0, 1), got {target_accept}")
    if on_divergence not in ("raise", "warn", "ignore"):
        raise ValueError(f"on_divergence must be 'raise', 'warn' or 'ignore', got {on_divergence!r}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if compile_mode not in COMPILE_MODES:
        raise ValueError(f"compile_mode must be one of {sorted(COMPILE_MODES)}, got {compile_mode!r}")
    if draws < 1 or tune < 0 or chains < 1:
        raise ValueError(f"need draws >= 1, tune >= 0 and chains >= 1; got draws={draws}, tune={tune}, chains={chains}")

    ld = model.compile_logp()
    adaptation = choose_adaptation(adaptation, ld.size, dense_mass)
    starts, use_starts = _given_starts(model, ld, initvals, chains, seed, jitter)
    progress = ChainProgress(chains, tune + draws, enabled=progressbar, num_tune=tune)
    settings = ChainSettings(tune, draws, float(target_accept), bool(dense_mass), int(max_treedepth),
                             chunk_size(tune + draws, progressbar), adaptation, dtype, float(jitter), compile_mode)

    started = time.perf_counter()
    with jax.enable_x64(dtype == "float64"):  # every array below takes the sampler's precision
        data = program_data(ld, dtype)
        starts = in_precision(starts, dtype)
        program = compiled_chain(ld, settings, starts[0], data)
        compiled_at = time.perf_counter()
        workers = concurrent_chains(chains, cores, program.jaxpr)
        stop = threading.Event()

        def one_chain(c):
            try:
                return run_chain(program, seed, c, starts[c], use_starts[c], data,
                                 functools.partial(progress.update, c), stop)
            except InvalidStartError as error:
                stop.set()
                raise SamplingError(_bad_start_message(ld, error.position, c)) from None

        with progress, chain_threads(), ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                results = list(pool.map(one_chain, range(chains)))
            except KeyboardInterrupt:
                stop.set()
                raise
        finished = time.perf_counter()
        stats, positions = (jax.tree_util.tree_map(lambda *xs: np.stack(xs), *parts) for parts in zip(*results))
        values = _per_draw(ld, "constrained_fn", positions, data, compile_mode)
        log_likelihood = None
        if (idata_kwargs or {}).get("log_likelihood", False):
            log_likelihood = _per_draw(ld, "pointwise_loglik_fn", positions, data, compile_mode)

    if var_names is not None:
        values = {k: v for k, v in values.items() if k in var_names}
    if not return_inferencedata:
        return values
    dims = {n: list(d) for n, d in model.named_vars_to_dims.items()}
    is_dense = stats["inverse_mass_matrix"].ndim == 3  # (chain, d, d): dense_mass or a low-rank metric
    dims["inverse_mass_matrix"] = ["chain", "unconstrained"] + (["unconstrained_bis"] if is_dense else [])
    idata = to_inference_data(
        posterior=values,
        sample_stats=stats,
        log_likelihood=log_likelihood,
        observed_data=observed_values(model),
        constant_data={v.name: v.value for v in model.data_vars},
        dims=dims,
        coords=model.coords,
        attrs={"compile_time": compiled_at - started, "sampling_time": finished - compiled_at,
               "tuning_steps": tune, "seed": seed, "concurrent_chains": workers, "adaptation": adaptation,
               "compile_mode": compile_mode},
    )
    if compute_convergence_checks:
        enforce(check(idata, max_treedepth=max_treedepth), idata, on_divergence)
    return idata


def _per_draw(ld: LogDensity, fn_name: str, positions: np.ndarray, data: dict,
              compile_mode: str) -> dict[str, np.ndarray]:
    """``ld.<fn_name>(theta, data)`` at every draw, all chains in one compiled call (cached in ``ld.programs``)."""
    chains, draws = positions.shape[:2]
    flat = positions.reshape(chains * draws, -1)
    key = ("per_draw", fn_name, compile_mode, flat.shape, flat.dtype.str, shapes_of(data))
    if key not in ld.programs:
        with garbage_collection_paused():
            lowered = jax.jit(jax.vmap(getattr(ld, fn_name), in_axes=(0, None))).lower(flat, data)
            ld.programs[key] = compile_lowered(lowered, compile_mode, dtype=flat.dtype.name)
    flat = ld.programs[key](flat, data)
    return {k: np.asarray(v).reshape(chains, draws, *v.shape[1:]) for k, v in flat.items()}


def _given_starts(model: Model, ld: LogDensity, initvals, chains: int, seed: int,
                  jitter: float) -> tuple[np.ndarray, list[bool]]:
    """Starting vectors of the chains given ``initvals``, and which chains have one.

    The other chains find their starting points inside the chain program
    (see :mod:`posteria.sampling.chain`). Variables not named in ``initvals``
    start at their jittered central values.
    """
    givens = [initvals[c] if isinstance(initvals, (list, tuple)) else (initvals or {}) for c in range(chains)]
    unknown = set().union(*givens) - {rv.name for rv in model.free_RVs}
    if unknown:
        raise ValueError(f"initvals name {sorted(unknown)}, which are not free variables of the model")
    value_names = {slot.name: slot.value_name for slot in ld.slots}
    starts = np.zeros((chains, ld.size))
    for c, given in enumerate(givens):
        if given:
            point = initial_point(model, seed=seed * 1000 + c, jitter=jitter)
            for name in given:
                point.pop(value_names[name])
            starts[c] = ld.unconstrain({**point, **given})
    return starts, [bool(given) for given in givens]


def _bad_start_message(ld: LogDensity, theta: np.ndarray, chain: int) -> str:
    terms = ld.terms_at(theta)
    grad = np.asarray(ld.value_and_grad(theta)[1])
    values = ld.constrained_fn(jnp.asarray(theta), ld.data())
    lines = [f"no valid starting point for chain {chain}: the log density or its gradient is not finite."]
    for name, term in terms.items():
        if not np.isfinite(term):
            lines.append(f"  log density of {name} is {term}")
    for slot in ld.slots:
        if not np.all(np.isfinite(grad[slot.start: slot.start + slot.size])):
            lines.append(f"  gradient for {slot.name} is not finite at {np.round(np.asarray(values[slot.name]), 4)}")
    lines.append("Check priors and data (e.g. observed values outside the support), or pass initvals={...}.")
    return "\n".join(lines)


def _pymc_options(kwargs: dict) -> dict:
    """Accept PyMC arguments that have a meaning here; refuse the rest by name."""
    options: dict = {}
    for key, value in kwargs.items():
        if key == "nuts" and isinstance(value, dict):
            options.update(value)
        elif key == "step" and value is None:
            continue
        elif key == "discard_tuned_samples" and value:
            continue
        elif key in ("nuts_sampler", "keep_warning_stat") and value in ("pymc", "posteria", False):
            continue
        else:
            raise TypeError(
                f"pa.sample() got an unexpected or unsupported argument {key}={value!r}; posteria samples with "
                "its own NUTS (arguments: draws, tune, chains, cores, target_accept, seed/random_seed, "
                "max_treedepth, dense_mass, initvals, progressbar, on_divergence, var_names, idata_kwargs)"
            )
    unknown = set(options) - {"target_accept"}
    if unknown:
        raise TypeError(f"pa.sample(nuts=...) got unsupported option(s) {sorted(unknown)}")
    return options
