"""The suite in nutpie, through its PyMC front end (the PyMC models of :mod:`pymc_engine`)."""

from __future__ import annotations

from typing import Callable

import nutpie

from benchmarks.engines import Fit
from benchmarks.engines.pymc_engine import BUILDERS, fit_from_idata


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int, target_accept: float,
                low_rank_modified_mass_matrix: bool = False) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with nutpie (``compile_pymc_model`` once, then ``nutpie.sample``).

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
    compiled: list = []

    def fitter(seed: int) -> Fit:
        if not compiled:
            compiled.append(nutpie.compile_pymc_model(BUILDERS[model_name](data)))
        idata = nutpie.sample(compiled[0], draws=draws, tune=tune, chains=chains, seed=seed,
                              target_accept=target_accept, progress_bar=False, save_warmup=False,
                              low_rank_modified_mass_matrix=low_rank_modified_mass_matrix)
        return fit_from_idata(model_name, idata)

    return fitter
