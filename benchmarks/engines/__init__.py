"""The engines: one module per library, each with the suite's models in that library's idiom.

posteria, PyMC and nutpie share one set of models written in PyMC's API
(:mod:`benchmarks.engines.pymc_models`); NumPyro and BlackJAX have their own.

Every engine module has ``make_fitter(model_name, data, *, draws, tune,
chains, target_accept, **options)``, which returns a callable
``fitter(seed) -> Fit``. The first call builds and compiles the model; later
calls reuse what the first built (the same model with a new seed), so the
difference in wall time between the first and second call is the cost of
compilation. Modules are imported only in the worker process of their own
engine.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Fit(NamedTuple):
    """The draws and per-draw statistics of one fit (sampling draws only, no warmup).

    Attributes
    ----------
    draws
        Constrained free parameters, name -> array ``(chain, draw, *shape)``.
    num_steps
        Leapfrog steps (gradient evaluations) per draw, ``(chain, draw)``.
    is_divergent
        Divergent transitions, ``(chain, draw)``.
    extra
        Engine-specific numbers (posteria: ``compile_time``, ``sampling_time``).
    """

    draws: dict[str, np.ndarray]
    num_steps: np.ndarray
    is_divergent: np.ndarray
    extra: dict[str, Any]


class EngineSpec(NamedTuple):
    """How to run one engine.

    Attributes
    ----------
    module
        Module (under ``benchmarks.engines``) with ``make_fitter``.
    packages
        Distributions that must be importable.
    options
        Keyword arguments for ``make_fitter``.
    chains_run
        How the engine runs several chains (for the report).
    """

    module: str
    packages: tuple[str, ...]
    options: dict[str, Any]
    chains_run: str


_NUTPIE_PACKAGES = ("nutpie", "pymc", "numba")  # nutpie's PyMC front end compiles with numba

ENGINES: dict[str, EngineSpec] = {
    "posteria": EngineSpec("posteria_engine", ("posteria",), {},
                           "pa.sample defaults (adaptation='auto': Stan's warmup below 20 dimensions, low-rank "
                           "Fisher from 20 up): one compiled program per chain, chains on threads (one per core)"),
    "posteria-stan": EngineSpec("posteria_engine", ("posteria",), {"adaptation": "stan"},
                                "as posteria, with adaptation='stan' (Stan's windowed warmup)"),
    "posteria-low-rank": EngineSpec("posteria_engine", ("posteria",), {"adaptation": "fisher_low_rank"},
                                    "as posteria, with adaptation='fisher_low_rank' (nutpie's low-rank Fisher metric)"),
    "posteria-fisher": EngineSpec("posteria_engine", ("posteria",), {"adaptation": "fisher"},
                                  "as posteria, with adaptation='fisher'"),
    "posteria-dense": EngineSpec("posteria_engine", ("posteria",), {"dense_mass": True},
                                 "as posteria, with dense_mass=True (Stan's dense metric)"),
    "numpyro": EngineSpec("numpyro_engine", ("numpyro",), {},
                          "chain_method='parallel' (pmap over one XLA host device per chain); MCMC.run "
                          "compiles again on every call, so its 2nd call includes compilation"),
    "blackjax": EngineSpec("blackjax_engine", ("blackjax",), {},
                           "window adaptation + NUTS per chain, all chains in one jax.vmap"),
    "pymc": EngineSpec("pymc_engine", ("pymc",), {},
                       "pm.sample defaults but cores = one process per CPU (PyMC's default: cpu_count // 2)"),
    "nutpie": EngineSpec("nutpie_engine", _NUTPIE_PACKAGES, {"low_rank_modified_mass_matrix": False},
                         "nutpie defaults (threads, numba backend)"),
    "nutpie-low-rank": EngineSpec("nutpie_engine", _NUTPIE_PACKAGES, {"low_rank_modified_mass_matrix": True},
                                  "as nutpie, low-rank modified mass matrix"),
}
"""Engines by name, in the order they run."""

