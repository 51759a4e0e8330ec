"""The suite in posteria (``pa.sample``: its NUTS, chains on threads), with the PyMC-API models of :mod:`pymc_models`."""

from __future__ import annotations

from typing import Any

import posteria as pa
from benchmarks.engines import Fit
from benchmarks.engines.pymc_models import build_model, fit_from_idata


class PosteriaFitter:
    """``fitter(seed) -> Fit`` for one model; keeps the model (and so its compiled program) between calls.

    Attributes
    ----------
    model
        The ``pa.Model`` (``None`` before the first call).
    idata
        The InferenceData of the latest call (``None`` before the first).
    """

    def __init__(self, model_name: str, data: dict, **sample_kwargs: Any):
        self.model_name, self.data, self.sample_kwargs = model_name, data, sample_kwargs
        self.model: Any = None
        self.idata: Any = None

    def __call__(self, seed: int) -> Fit:
        if self.model is None:
            self.model = build_model(pa, self.model_name, self.data)
        self.idata = idata = pa.sample(**self.sample_kwargs, seed=seed, model=self.model, progressbar=False,
                                       on_divergence="ignore", compute_convergence_checks=False)
        return fit_from_idata(self.model_name, idata, extra={"compile_time": float(idata.attrs["compile_time"]),
                                                              "sampling_time": float(idata.attrs["sampling_time"])})


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int, target_accept: float,
                **options: Any) -> PosteriaFitter:
    """A fitter for ``model_name`` with ``pa.sample``; ``options`` (``adaptation``, ``dense_mass``) go to it.

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=1,
    ...                      target_accept=0.95, dense_mass=True)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((1, 20, 8), (1, 20))
    >>> fitter.idata.sample_stats["inverse_mass_matrix"].shape  # dense: (chain, 10, 10)
    (1, 10, 10)
    """
    return PosteriaFitter(model_name, data, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                          **options)
