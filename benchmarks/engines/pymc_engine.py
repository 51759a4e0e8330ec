"""The suite in PyMC (the models of :mod:`pymc_models`), sampled with PyMC's own NUTS (``pm.sample``).

``pm.sample`` runs with its defaults except ``cores``: PyMC's default
assumes half the CPUs are hyper-threads (``cpu_count() // 2``), so it is
given one process per CPU, as the other engines use every CPU.
"""

from __future__ import annotations

import functools
import os
from typing import Callable

import pymc as pm

from benchmarks.engines import Fit
from benchmarks.engines.pymc_models import build_model, fit_from_idata


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int,
                target_accept: float) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with ``pm.sample`` (the same ``pm.Model`` across calls).

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=1,
    ...                      target_accept=0.95)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((1, 20, 8), (1, 20))
    """

    @functools.cache
    def model():
        return build_model(pm, model_name, data)

    def fitter(seed: int) -> Fit:
        idata = pm.sample(draws, tune=tune, chains=chains, random_seed=seed, target_accept=target_accept,
                          cores=min(chains, os.cpu_count() or 1), model=model(), progressbar=False,
                          compute_convergence_checks=False)
        return fit_from_idata(model_name, idata)

    return fitter
