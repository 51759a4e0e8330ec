"""Efficiency and convergence numbers of one fit, computed the same way for every engine (with ArviZ)."""

from __future__ import annotations

import warnings
from typing import Any

import arviz as az
import numpy as np

from benchmarks.engines import Fit


def scalar_names(name: str, shape: tuple[int, ...]) -> list[str]:
    """Names of the scalar components of a parameter, in C order (``beta[0]``, ``L[1,0]``).

    Examples
    --------
    >>> scalar_names("sigma", ())
    ['sigma']
    >>> scalar_names("L", (2, 2))
    ['L[0,0]', 'L[0,1]', 'L[1,0]', 'L[1,1]']
    """
    if not shape:
        return [name]
    return [f"{name}[{','.join(map(str, index))}]" for index in np.ndindex(*shape)]


def _per_scalar(dataset, draws: dict[str, np.ndarray]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in draws.items():
        values = np.asarray(dataset[name].values, dtype=float).ravel()
        out.update(zip(scalar_names(name, value.shape[2:]), values.tolist()))
    return out


def summarize(fit: Fit) -> dict[str, Any]:
    """Convergence and efficiency of a fit, over every scalar parameter (constrained space).

    ESS (bulk and tail, rank-normalised) and split R-hat come from ArviZ on an
    InferenceData built from the draws; the gradient count is the sum of
    leapfrog steps over the kept draws of all chains.

    Parameters
    ----------
    fit
        Draws ``(chain, draw, ...)`` and per-draw leapfrog steps and divergences.

    Returns
    -------
    dict
        ``min_ess_bulk``, ``min_ess_tail``, ``max_rhat``, ``worst_parameter``
        (smallest bulk ESS), ``num_divergent``, ``num_draws`` (all chains),
        ``num_grads``, ``grads_per_ess`` (``num_grads / min_ess_bulk``) and
        ``parameters``: per scalar ``mean``, ``sd``, ``mcse_mean``, ``ess_bulk``.

    References
    ----------
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Buerkner, P.-C.
    (2021). Rank-normalization, folding, and localization: an improved R-hat
    for assessing convergence of MCMC. Bayesian Analysis 16(2).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> fit = Fit({"x": rng.normal(size=(4, 500, 2))}, np.full((4, 500), 3), np.zeros((4, 500), bool), {})
    >>> s = summarize(fit)
    >>> 1500 < s["min_ess_bulk"] < 2500, s["max_rhat"] < 1.01, s["num_grads"], sorted(s["parameters"])
    (True, True, 6000, ['x[0]', 'x[1]'])
    """
    idata = az.from_dict(posterior=fit.draws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ess_bulk = _per_scalar(az.ess(idata, method="bulk"), fit.draws)
        ess_tail = _per_scalar(az.ess(idata, method="tail"), fit.draws)
        rhat = _per_scalar(az.rhat(idata), fit.draws)
        mcse = _per_scalar(az.mcse(idata, method="mean"), fit.draws)
    means = _per_scalar(idata.posterior.mean(("chain", "draw")), fit.draws)
    sds = _per_scalar(idata.posterior.std(("chain", "draw")), fit.draws)
    worst = min(ess_bulk, key=ess_bulk.get)
    num_grads = int(np.sum(fit.num_steps))
    min_ess_bulk = ess_bulk[worst]
    return {
        "min_ess_bulk": min_ess_bulk,
        "min_ess_tail": min(ess_tail.values()),
        "max_rhat": max(rhat.values()),
        "worst_parameter": worst,
        "num_divergent": int(np.sum(fit.is_divergent)),
        "num_draws": int(np.size(fit.is_divergent)),
        "num_grads": num_grads,
        "grads_per_ess": num_grads / min_ess_bulk if min_ess_bulk > 0 else float("inf"),
        "parameters": {name: {"mean": means[name], "sd": sds[name], "mcse_mean": mcse[name],
                              "ess_bulk": ess_bulk[name]} for name in ess_bulk},
    }
