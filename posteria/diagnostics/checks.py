"""Checks run after sampling, and the policy that raises or warns on their result.

Every statistic is computed by ArviZ (rank-normalised split R-hat, bulk and
tail ESS, E-BFMI); this module only compares them with thresholds, finds the
variables behind divergences, and writes messages that name the fix.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

from posteria.diagnostics.report import Problem, Report, Thresholds, percent
from posteria.errors import SamplingError, SamplingWarning
from posteria.io import get_group, get_sample_stats

__all__ = ["check", "enforce"]

ON_DIVERGENCE = ("raise", "warn", "ignore")
_MAX_NAMED = 6  # variables named in one message
_NUM_DIVERGENT_VARIABLES = 3
_MIN_DIVERGENCE_Z = 2.0
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__))) + os.sep


def _names(variables: list[str]) -> str:
    shown = ", ".join(variables[:_MAX_NAMED])
    hidden = len(variables) - _MAX_NAMED
    return shown + (f" and {hidden} more" if hidden > 0 else "")


def _constant_elements(posterior: xr.Dataset) -> dict[str, xr.DataArray]:
    """Per variable, which elements take one value in every draw of every chain."""
    return {
        name: posterior[name].max(("chain", "draw")) == posterior[name].min(("chain", "draw"))
        for name in posterior.data_vars
    }


def _worst(result: xr.Dataset, constant: dict[str, xr.DataArray], reduce) -> dict[str, float]:
    """Worst value per variable over its non-constant elements (NaN propagates)."""
    worst = {}
    for name, is_constant in constant.items():
        values = result[name].transpose(*is_constant.dims).values
        varying = values[~is_constant.values]
        if varying.size:
            worst[name] = float(reduce(varying))
    return worst


def _divergent_variables(posterior: xr.Dataset, is_divergent: np.ndarray) -> list[str]:
    """Variables whose values differ most between divergent and other draws.

    A heuristic in the spirit of Betancourt's pair plots, not a test: for each
    scalar element (on the log scale when all its draws are positive, since
    hierarchical scales pinch towards 0 where a funnel diverges), the
    difference of means between divergent and non-divergent draws is divided
    by the element's posterior sd, and then by its standard error were draws
    independent. Variables whose largest such z exceeds 2 are ranked by it.
    Autocorrelation makes the z optimistic, so names are clues to look at in a
    pair plot, not proof.
    """
    divergent = is_divergent.reshape(-1).astype(bool)
    num_divergent, num_draws = int(divergent.sum()), divergent.size
    if num_divergent in (0, num_draws):
        return []
    standard_error = np.sqrt(1 / num_divergent + 1 / (num_draws - num_divergent))
    scores = {}
    for name in posterior.data_vars:
        draws = posterior[name].transpose("chain", "draw", ...).values
        draws = draws.reshape(num_draws, -1).astype(float)
        positive = np.all(draws > 0, axis=0)
        draws[:, positive] = np.log(draws[:, positive])
        sd = draws.std(axis=0)
        usable = np.isfinite(sd) & (sd > 0)
        if not usable.any():
            continue
        difference = draws[divergent][:, usable].mean(0) - draws[~divergent][:, usable].mean(0)
        z = np.max(np.abs(difference / sd[usable])) / standard_error
        if z > _MIN_DIVERGENCE_Z:
            scores[name] = z
    return sorted(scores, key=scores.get, reverse=True)[:_NUM_DIVERGENT_VARIABLES]


def _divergence_problem(report: Report, total: int) -> Problem:
    involved = (
        f"; most involved (heuristic): {_names(report.divergent_variables)}"
        if report.divergent_variables
        else "; no single variable stands out"
    )
    message = (
        f"{report.num_divergent} of {total} draws ({percent(report.num_divergent, total)}) "
        f"diverged after tuning{involved}. Divergent transitions mean the sampler could not "
        "follow the posterior's curvature, so the draws may be biased. Fix: reparameterise "
        "(a non-centred parameterisation for hierarchical scales such as `tau`: "
        "theta = mu + tau * theta_raw with theta_raw ~ Normal(0, 1)) or raise target_accept "
        "(e.g. pa.sample(..., target_accept=0.95))."
    )
    return Problem("divergences", "error", list(report.divergent_variables), message)


def _problems(report: Report) -> list[Problem]:
    t = report.thresholds
    total = report.num_chains * report.num_draws
    problems = []
    if report.num_divergent > t.max_num_divergent:
        problems.append(_divergence_problem(report, total))
    bad = [name for name, value in report.rhat.items() if not value <= t.max_rhat]
    if bad:
        message = (
            f"R-hat above {t.max_rhat} for {_names(bad)} "
            f"(max {max(report.rhat[name] for name in bad):.3f}): the chains disagree; "
            "run longer (more draws/tune) or reparameterise."
        )
        problems.append(Problem("rhat", "warning", bad, message))
    for kind, values, limit, consequence in (
        ("ess_bulk", report.ess_bulk, t.min_ess_bulk, "means and sds are imprecise"),
        ("ess_tail", report.ess_tail, t.min_ess_tail, "intervals and quantiles are imprecise"),
    ):
        bad = [name for name, value in values.items() if not value >= limit]
        if bad:
            message = (
                f"{kind.removeprefix('ess_')} ESS below {limit:g} for {_names(bad)} "
                f"(min {min(values[name] for name in bad):.0f} of {total} draws): "
                f"{consequence}; run more draws."
            )
            problems.append(Problem(kind, "warning", bad, message))
    if report.num_max_treedepth:
        message = (
            f"{report.num_max_treedepth} of {total} transitions "
            f"({percent(report.num_max_treedepth, total)}) hit "
            f"max_treedepth={report.max_treedepth}: increase max_treedepth or reparameterise."
        )
        problems.append(Problem("treedepth", "warning", [], message))
    low = [
        f"{chain} ({value:.2g})"
        for chain, value in enumerate(report.bfmi)
        if not value >= t.min_bfmi
    ]
    if low:
        message = (
            f"E-BFMI below {t.min_bfmi} in chains {', '.join(low)}: the momentum resampling "
            "explores energy poorly; reparameterise (e.g. non-centred)."
        )
        problems.append(Problem("bfmi", "warning", [], message))
    return problems


def check(idata: Any, *, max_treedepth: int = 10, thresholds: Thresholds | None = None) -> Report:
    """Diagnose a run: divergences, R-hat, bulk and tail ESS, tree depth, E-BFMI.

    Parameters
    ----------
    idata : InferenceData
        With a ``posterior`` group and, from NUTS, ``sample_stats`` (as made by
        :func:`posteria.io.to_inference_data`).
    max_treedepth : int, default 10
        The sampler's limit. A transition saturates when the sampler flagged
        ``reached_max_treedepth``, or, without that flag, when its
        ``tree_depth >= max_treedepth``.
    thresholds : Thresholds, optional

    Returns
    -------
    Report
        Diagnostics computed by ArviZ (``az.rhat`` rank-normalised split
        R-hat, ``az.ess`` bulk and tail, ``az.bfmi``), problems past the
        thresholds, and notes on what was skipped (R-hat with one chain,
        constant variables). Variables "most involved" in divergences come
        from a heuristic: the standardised difference of means between
        divergent and other draws, on the log scale for positive variables.

    References
    ----------
    Vehtari, Gelman, Simpson, Carpenter, Bürkner (2021), Rank-normalization,
    folding, and localization: an improved R-hat. Bayesian Analysis 16(2).
    Betancourt (2016), Diagnosing suboptimal cotangent disintegrations in
    Hamiltonian Monte Carlo, arXiv:1604.00695.

    Examples
    --------
    >>> import numpy as np
    >>> from posteria.io import to_inference_data
    >>> rng = np.random.default_rng(0)
    >>> idata = to_inference_data(
    ...     posterior={"mu": rng.normal(size=(4, 500))},
    ...     sample_stats={"is_divergent": np.zeros((4, 500), bool),
    ...                   "energy": rng.normal(size=(4, 500))})
    >>> report = check(idata)
    >>> report.ok, report.num_divergent
    (True, 0)
    >>> round(report.rhat["mu"], 2)
    1.0
    """
    thresholds = thresholds or Thresholds()
    posterior = get_group(idata, "posterior")
    if posterior is None:
        raise ValueError("check needs InferenceData with a posterior group")
    num_chains, num_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    stats = get_sample_stats(idata)
    report = Report(num_chains, num_draws, max_treedepth=max_treedepth, thresholds=thresholds)

    constant = _constant_elements(posterior)
    fully_constant = [name for name, c in constant.items() if bool(c.all())]
    if fully_constant:
        report.notes.append(f"constant, so no R-hat or ESS: {_names(fully_constant)}")
    with np.errstate(divide="ignore", invalid="ignore"):  # constant elements: 0/0
        if num_chains >= 2:
            report.rhat = _worst(az.rhat(posterior, method="rank"), constant, np.max)
        else:
            report.notes.append(f"R-hat skipped: it needs at least 2 chains, got {num_chains}")
        report.ess_bulk = _worst(az.ess(posterior, method="bulk"), constant, np.min)
        report.ess_tail = _worst(az.ess(posterior, method="tail"), constant, np.min)
        if "energy" in stats:
            report.bfmi = np.asarray(az.bfmi(stats["energy"]), dtype=float)
        else:
            report.notes.append("E-BFMI skipped: no energy in sample_stats")

    if "is_divergent" in stats:
        is_divergent = stats["is_divergent"].astype(bool)
        report.divergent_per_chain = is_divergent.sum(axis=1)
        report.num_divergent = int(is_divergent.sum())
        report.divergent_variables = _divergent_variables(posterior, is_divergent)
    else:
        report.notes.append("divergences unknown: no is_divergent in sample_stats")
    if "reached_max_treedepth" in stats:
        report.num_max_treedepth = int(stats["reached_max_treedepth"].sum())
    elif "tree_depth" in stats:
        report.num_max_treedepth = int((stats["tree_depth"] >= max_treedepth).sum())
    else:
        report.notes.append("tree depth unknown: no tree_depth in sample_stats")
    report.problems = _problems(report)
    return report


def _user_stacklevel() -> int:
    """Stack level of the first caller outside posteria, so warnings point at user code."""
    frame, level = sys._getframe(2), 2  # enforce's caller is stacklevel 2 inside enforce
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def enforce(report: Report, idata: Any, on_divergence: str = "raise") -> None:
    """Act on a report: raise or warn on divergences, warn on every other problem.

    Parameters
    ----------
    report : Report
        From :func:`check`.
    idata : InferenceData
        Attached to the error, so the draws are not lost.
    on_divergence : {"raise", "warn", "ignore"}
        What divergences do: raise :class:`~posteria.errors.SamplingError`,
        warn with :class:`~posteria.errors.SamplingWarning`, or nothing.

    Raises
    ------
    SamplingError
        On divergences with ``on_divergence="raise"``; ``err.idata`` and
        ``err.report`` hold the draws and the report.
    ValueError
        For an unknown ``on_divergence``.

    Examples
    --------
    >>> report = Report(num_chains=4, num_draws=1000, num_divergent=0)
    >>> enforce(report, idata=None)  # nothing to act on
    >>> enforce(report, idata=None, on_divergence="sometimes")
    Traceback (most recent call last):
    ...
    ValueError: on_divergence must be one of 'raise', 'warn', 'ignore'; got 'sometimes'
    """
    if on_divergence not in ON_DIVERGENCE:
        valid = ", ".join(repr(option) for option in ON_DIVERGENCE)
        raise ValueError(f"on_divergence must be one of {valid}; got {on_divergence!r}")
    stacklevel = _user_stacklevel()
    divergences = None
    for problem in report.problems:
        if problem.kind == "divergences":
            divergences = problem
        else:
            warnings.warn(problem.message, SamplingWarning, stacklevel=stacklevel)
    if divergences is None or on_divergence == "ignore":
        return
    if on_divergence == "warn":
        warnings.warn(divergences.message, SamplingWarning, stacklevel=stacklevel)
        return
    raise SamplingError(
        divergences.message + " The draws are kept in err.idata; pass on_divergence='warn' "
        "to go on with them.",
        idata=idata,
        report=report,
    )
