"""The suite in nutpie, through its PyMC front end (the PyMC models of :mod:`pymc_models`)."""

from __future__ import annotations

import functools
from typing import Callable

import nutpie
import pymc

from benchmarks.engines import Fit
from benchmarks.engines.pymc_models import build_model, fit_from_idata


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int, target_accept: float,
                low_rank_modified_mass_matrix: bool = False) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with nutpie (``compile_pymc_model`` on the first call, then ``nutpie.sample``).

    Adaptation is nutpie's default (its gradient-based diagonal mass
    matrix), or its low-rank modified mass matrix.

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
    def compiled():
        return nutpie.compile_pymc_model(build_model(pymc, model_name, data))

    def fitter(seed: int) -> Fit:
        idata = nutpie.sample(compiled(), draws=draws, tune=tune, chains=chains, seed=seed,
                              target_accept=target_accept, progress_bar=False, save_warmup=False,
                              low_rank_modified_mass_matrix=low_rank_modified_mass_matrix)
        return fit_from_idata(model_name, idata)

    return fitter
