"""Diagnostics after sampling: ArviZ's numbers, thresholds, messages, raise or warn."""

import warnings

import arviz as az
import numpy as np
import pytest

from posteria.diagnostics import Problem, Report, Thresholds, check, enforce
from posteria.errors import SamplingError, SamplingWarning
from posteria.io import to_inference_data

CHAINS, DRAWS = 4, 1000


def run(posterior, **stats):
    """InferenceData of a fake NUTS run: no divergences and shallow trees unless given."""
    shape = next(iter(posterior.values())).shape[:2]
    stats.setdefault("is_divergent", np.zeros(shape, bool))
    stats.setdefault("tree_depth", np.full(shape, 3))
    stats.setdefault("energy", np.random.default_rng(99).normal(size=shape))
    return to_inference_data(posterior=posterior, sample_stats=stats)


def healthy_draws(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "mu": rng.normal(size=(CHAINS, DRAWS)),
        "theta": rng.normal(size=(CHAINS, DRAWS, 3)),
        "sigma": rng.lognormal(size=(CHAINS, DRAWS)),
    }


def funnel_run(seed=1):
    """Divergences where a hierarchical scale tau is small, as in a centred funnel."""
    rng = np.random.default_rng(seed)
    log_tau = rng.normal(size=(CHAINS, DRAWS))
    posterior = {
        "mu": rng.normal(size=(CHAINS, DRAWS)),
        "tau": np.exp(log_tau),
        "theta": rng.normal(size=(CHAINS, DRAWS, 2)),
    }
    is_divergent = (log_tau < -1.5) & (rng.random((CHAINS, DRAWS)) < 0.5)
    return run(posterior, is_divergent=is_divergent), int(is_divergent.sum())


def problem(report, kind):
    (found,) = [p for p in report.problems if p.kind == kind]
    return found


def test_healthy_run_is_ok_silent_and_reports_arviz_numbers():
    idata = run(healthy_draws())
    report = check(idata)
    assert report.ok and report.problems == []
    assert (report.num_chains, report.num_draws, report.num_divergent) == (CHAINS, DRAWS, 0)
    np.testing.assert_array_equal(report.divergent_per_chain, np.zeros(CHAINS))
    rhat, bulk, tail = (az.rhat(idata), az.ess(idata, method="bulk"), az.ess(idata, method="tail"))
    for name in ("mu", "theta", "sigma"):
        assert report.rhat[name] == float(rhat[name].max())
        assert report.ess_bulk[name] == float(bulk[name].min())
        assert report.ess_tail[name] == float(tail[name].min())
    np.testing.assert_array_equal(report.bfmi, az.bfmi(idata))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enforce(report, idata)


def test_divergences_raise_with_count_variable_and_fix():
    idata, num_divergent = funnel_run()
    report = check(idata)
    assert report.num_divergent == num_divergent > 0
    assert report.divergent_variables[0] == "tau"
    assert "mu" not in report.divergent_variables
    assert problem(report, "divergences").severity == "error"
    with pytest.raises(SamplingError) as info:
        enforce(report, idata)
    message = str(info.value)
    total = CHAINS * DRAWS
    assert f"{num_divergent} of {total} draws ({100 * num_divergent / total:.2g}%)" in message
    for needed in ("tau", "target_accept", "non-centred", "on_divergence='warn'"):
        assert needed in message
    assert info.value.idata is idata
    assert info.value.report is report


def test_divergence_policy_warn_ignore_and_invalid():
    idata, _ = funnel_run()
    report = check(idata)
    with pytest.warns(SamplingWarning, match="diverged after tuning") as record:
        enforce(report, idata, on_divergence="warn")
    assert record[0].filename == __file__  # points at the caller, not at posteria
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enforce(report, idata, on_divergence="ignore")
    with pytest.raises(ValueError, match="'raise', 'warn', 'ignore'; got 'never'"):
        enforce(report, idata, on_divergence="never")


def test_divergences_within_the_tolerated_count_are_no_problem():
    idata, num_divergent = funnel_run()
    report = check(idata, thresholds=Thresholds(max_num_divergent=num_divergent))
    assert report.num_divergent == num_divergent
    assert report.ok


def test_chains_stuck_at_different_means_warn_rhat_naming_the_variable():
    draws = healthy_draws()
    draws["mu"] = draws["mu"] + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    idata = run(draws)
    report = check(idata)
    assert report.rhat["mu"] == float(az.rhat(idata)["mu"])
    found = problem(report, "rhat")
    assert found.variables == ["mu"]
    assert found.message.startswith(f"R-hat above 1.01 for mu (max {report.rhat['mu']:.3f})")
    with pytest.warns(SamplingWarning) as record:
        enforce(report, idata)
    assert any(str(w.message).startswith("R-hat above 1.01 for mu ") for w in record)


def test_autocorrelated_draws_warn_low_ess():
    rng = np.random.default_rng(3)
    rho, innovations = 0.99, rng.normal(size=(CHAINS, DRAWS))
    ar1 = np.zeros((CHAINS, DRAWS))
    ar1[:, 0] = rng.normal(size=CHAINS)
    for t in range(1, DRAWS):
        ar1[:, t] = rho * ar1[:, t - 1] + np.sqrt(1 - rho**2) * innovations[:, t]
    idata = run({"ar": ar1, "iid": rng.normal(size=(CHAINS, DRAWS))})
    report = check(idata)
    # The AR(1) ESS is about 4000 (1 - rho) / (1 + rho) = 20; iid draws stay near 4000.
    assert report.ess_bulk["ar"] < 100 < 400 < report.ess_bulk["iid"]
    assert report.ess_bulk["ar"] == float(az.ess(idata, method="bulk")["ar"])
    assert problem(report, "ess_bulk").variables == ["ar"]
    assert problem(report, "ess_tail").variables == ["ar"]
    with pytest.warns(SamplingWarning) as record:
        enforce(report, idata)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("bulk ESS below 400 for ar (min ") for m in messages)
    assert any(m.startswith("tail ESS below 400 for ar") for m in messages)


def test_tree_depth_saturation_warns_with_the_count():
    tree_depth = np.full((CHAINS, DRAWS), 4)
    tree_depth[1, :37] = 10
    idata = run(healthy_draws(), tree_depth=tree_depth)
    report = check(idata)
    assert report.num_max_treedepth == 37
    assert problem(report, "treedepth").message.startswith(
        "37 of 4000 transitions (0.93%) hit max_treedepth=10: increase max_treedepth"
    )
    assert check(idata, max_treedepth=11).ok
    # The sampler's own flag wins over counting depths.
    flagged = run(
        healthy_draws(),
        tree_depth=tree_depth,
        reached_max_treedepth=np.zeros((CHAINS, DRAWS), bool),
    )
    assert check(flagged).num_max_treedepth == 0


def test_random_walk_energy_gives_low_bfmi():
    rng = np.random.default_rng(4)
    energy = np.cumsum(rng.normal(size=(CHAINS, DRAWS)), axis=1)
    energy[0] = rng.normal(size=DRAWS)  # one healthy chain
    idata = run(healthy_draws(), energy=energy)
    report = check(idata)
    np.testing.assert_array_equal(report.bfmi, az.bfmi(idata))
    assert report.bfmi[0] > 1 and np.all(report.bfmi[1:] < 0.3)
    message = problem(report, "bfmi").message
    assert message.startswith("E-BFMI below 0.3 in chains 1 (")
    assert "reparameterise (e.g. non-centred)" in message and "0 (" not in message


def test_single_chain_skips_rhat_and_says_so():
    idata = run({"mu": np.random.default_rng(5).normal(size=(1, DRAWS))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check(idata, thresholds=Thresholds(min_ess_bulk=100, min_ess_tail=100))
    assert report.rhat == {} and report.ok
    assert "R-hat skipped: it needs at least 2 chains, got 1" in report.notes


def test_constant_variables_are_left_out_without_warnings():
    draws = healthy_draws()
    draws["one"] = np.ones((CHAINS, DRAWS))
    draws["theta"][..., 1] = 2.0  # one constant element in a vector
    idata = run(draws)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = check(idata)
    assert report.ok
    assert "one" not in report.rhat and "one" not in report.ess_bulk
    assert any("constant" in note and "one" in note for note in report.notes)
    with np.errstate(invalid="ignore"):  # ArviZ divides 0 by 0 for the constant element
        rhat = az.rhat(idata)["theta"].values
    assert report.rhat["theta"] == max(rhat[0], rhat[2])


def test_non_finite_draws_are_a_problem_not_a_pass():
    draws = healthy_draws()
    draws["mu"][2, 10] = np.nan
    report = check(run(draws))
    assert "mu" in problem(report, "rhat").variables


def test_report_prints_a_table_and_html():
    idata, _ = funnel_run()
    report = check(idata)
    text = str(report)
    assert repr(report) == text
    lines = text.splitlines()
    assert lines[0] == "posteria diagnostics: 4 chains x 1000 draws: 1 problem(s)"
    assert any(line.startswith("variable") and "ess_bulk" in line for line in lines)
    assert any(line.startswith("tau ") for line in lines)
    assert any(line.startswith("error: ") and "diverged" in line for line in lines)
    html = report._repr_html_()
    assert "<table>" in html and "tau" in html and "diverged" in html


def test_problem_and_report_are_plain_data():
    report = Report(
        num_chains=2,
        num_draws=10,
        problems=[Problem("rhat", "warning", ["mu"], "R-hat above 1.01 for mu")],
    )
    assert not report.ok
    assert report.thresholds == Thresholds()
