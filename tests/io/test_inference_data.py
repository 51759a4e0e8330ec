"""Conversion of posteria's dicts of arrays to ArviZ InferenceData."""

import arviz as az
import numpy as np
import pytest
import scipy.stats as st

from posteria.io import SAMPLE_STAT_NAMES, extend, get_group, get_sample_stats, to_inference_data

CHAINS, DRAWS = 4, 100


@pytest.fixture
def draws():
    rng = np.random.default_rng(0)
    return {
        "mu": rng.normal(size=(CHAINS, DRAWS)),
        "theta": rng.normal(size=(CHAINS, DRAWS, 3)),
        "L": rng.normal(size=(CHAINS, DRAWS, 2, 2)),
    }


@pytest.fixture
def stats():
    rng = np.random.default_rng(1)
    return {
        "logdensity": rng.normal(size=(CHAINS, DRAWS)),
        "is_divergent": rng.random((CHAINS, DRAWS)) < 0.01,
        "num_integration_steps": rng.integers(1, 16, size=(CHAINS, DRAWS)),
        "tree_depth": rng.integers(1, 5, size=(CHAINS, DRAWS)),
        "acceptance_rate": rng.random((CHAINS, DRAWS)),
        "energy": rng.normal(size=(CHAINS, DRAWS)),
        "step_size": np.full((CHAINS, DRAWS), 0.3),
        "reached_max_treedepth": np.zeros((CHAINS, DRAWS), bool),
        "energy_error": rng.normal(size=(CHAINS, DRAWS)),  # unknown to the map: passes through
        "inverse_mass_matrix": rng.random((CHAINS, 3)) + 0.5,  # per chain, not per draw
        "dense_inverse_mass_matrix": np.broadcast_to(np.eye(3), (CHAINS, 3, 3)).copy(),
    }


def test_arrays_land_in_their_groups_with_dims_and_coords(draws, stats):
    observed = np.arange(5.0)
    idata = to_inference_data(
        posterior=draws,
        sample_stats=stats,
        observed_data={"y": observed},
        constant_data={"x": np.linspace(0, 1, 5)},
        posterior_predictive={"y": np.zeros((CHAINS, DRAWS, 5))},
        dims={"theta": ["school"], "y": ["obs"], "x": ["obs"]},
        coords={"school": ["a", "b", "c"]},
        attrs={"sampler": "nuts"},
    )
    posterior = get_group(idata, "posterior")
    assert posterior["theta"].dims == ("chain", "draw", "school")
    assert list(posterior["school"].values) == ["a", "b", "c"]
    assert posterior["L"].dims == ("chain", "draw", "L_dim_0", "L_dim_1")
    np.testing.assert_array_equal(posterior["theta"].values, draws["theta"])
    np.testing.assert_array_equal(posterior["chain"].values, np.arange(CHAINS))

    observed_data = get_group(idata, "observed_data")
    assert observed_data["y"].dims == ("obs",)
    np.testing.assert_array_equal(observed_data["y"].values, observed)
    assert get_group(idata, "constant_data")["x"].dims == ("obs",)
    assert get_group(idata, "posterior_predictive")["y"].dims == ("chain", "draw", "obs")
    assert get_group(idata, "prior") is None

    for group in ("posterior", "sample_stats", "observed_data"):
        assert get_group(idata, group).attrs["inference_library"] == "posteria"
        assert get_group(idata, group).attrs["sampler"] == "nuts"
    assert idata.attrs["inference_library"] == "posteria"
    assert "inference_library_version" in idata.attrs


def test_sample_stats_take_arviz_names_and_per_chain_state_its_own_dims(draws, stats):
    idata = to_inference_data(posterior=draws, sample_stats=stats)
    sample_stats = get_group(idata, "sample_stats")
    expected = {SAMPLE_STAT_NAMES.get(name, name) for name in stats}
    assert set(sample_stats.data_vars) == expected
    assert {"lp", "diverging", "n_steps", "energy_error"} <= expected
    assert sample_stats["diverging"].dims == ("chain", "draw")
    np.testing.assert_array_equal(sample_stats["lp"].values, stats["logdensity"])
    assert sample_stats["inverse_mass_matrix"].dims == ("chain", "inverse_mass_matrix_dim_0")
    assert sample_stats["dense_inverse_mass_matrix"].dims == (
        "chain",
        "dense_inverse_mass_matrix_dim_0",
        "dense_inverse_mass_matrix_dim_1",
    )
    back = get_sample_stats(idata)
    assert set(back) == set(stats)
    for name, value in stats.items():
        np.testing.assert_array_equal(back[name], value)


def test_per_chain_state_is_stored_even_when_it_looks_per_draw(draws):
    # A diagonal mass matrix with as many entries as there are draws: the shape
    # alone is ambiguous, "chain" first in dims says it is per chain.
    matrix = np.ones((CHAINS, DRAWS))
    idata = to_inference_data(
        posterior=draws,
        sample_stats={"inverse_mass_matrix": matrix, "step_size": np.full(CHAINS, 0.1)},
        dims={"inverse_mass_matrix": ["chain", "unconstrained"]},
    )
    sample_stats = get_group(idata, "sample_stats")
    assert sample_stats["inverse_mass_matrix"].dims == ("chain", "unconstrained")
    assert sample_stats["step_size"].dims == ("chain",)


def test_warmup_stats_keep_their_own_number_of_draws(draws, stats):
    warmup = {"is_divergent": np.zeros((CHAINS, 30), bool), "step_size": np.ones((CHAINS, 30))}
    idata = to_inference_data(posterior=draws, sample_stats=stats, warmup_sample_stats=warmup)
    assert dict(get_group(idata, "warmup_sample_stats")["diverging"].sizes) == {
        "chain": CHAINS,
        "draw": 30,
    }
    assert get_sample_stats(idata, "warmup_sample_stats")["step_size"].shape == (CHAINS, 30)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"posterior": {"mu": np.zeros(10)}},
            "posterior group: variable 'mu' must have leading \\(chain, draw\\)",
        ),
        (
            {
                "posterior": {"mu": np.zeros((4, 10))},
                "sample_stats": {"energy": np.zeros((3, 10))},
            },
            "sample_stats group: variable 'energy' has shape \\(3, 10\\)",
        ),
        (
            {"sample_stats": {"is_divergent": np.zeros(4, bool)}},
            "'is_divergent' has shape \\(4,\\)",
        ),
        (
            {"posterior": {"mu": np.zeros((4, 10))}, "sample_stats": {"energy": np.zeros((4, 9))}},
            r"'energy' has shape \(4, 9\): expected leading \(chain, draw\) axes = \(4, 10\)$",
        ),
        (
            {"posterior": {"b": np.zeros((4, 10, 3))}, "dims": {"b": ["x"]}, "coords": {"x": [1]}},
            "cannot build the posterior group",
        ),
    ],
)
def test_bad_shapes_are_refused_with_the_variable_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        to_inference_data(**kwargs)


def test_arviz_summary_ess_rhat_and_bfmi_work_on_the_result(draws, stats):
    idata = to_inference_data(posterior=draws, sample_stats=stats)
    summary = az.summary(idata)
    assert len(summary) == 1 + 3 + 4  # mu, theta[3], L[2, 2]
    assert {"ess_bulk", "ess_tail", "r_hat"} <= set(summary.columns)
    assert az.rhat(idata)["theta"].shape == (3,)
    assert az.ess(idata)["L"].shape == (2, 2)
    bfmi = np.asarray(az.bfmi(idata))
    assert bfmi.shape == (CHAINS,)
    np.testing.assert_allclose(bfmi, np.asarray(az.bfmi(stats["energy"])))


def test_arviz_loo_matches_exact_leave_one_out():
    # y_i ~ Normal(mu, 1), flat prior: the posterior is Normal(ybar, 1/n) and the
    # exact LOO predictive of y_i is Normal(mean of the others, 1 + 1/(n-1)).
    rng = np.random.default_rng(7)
    n = 50
    y = rng.normal(1.0, 1.0, size=n)
    mu = rng.normal(y.mean(), 1 / np.sqrt(n), size=(CHAINS, 1000))
    log_likelihood = st.norm.logpdf(y, mu[..., None], 1.0)
    idata = to_inference_data(
        posterior={"mu": mu},
        log_likelihood={"y": log_likelihood},
        observed_data={"y": y},
        dims={"y": ["obs"]},
    )
    loo = az.loo(idata)
    loo_means = (y.sum() - y) / (n - 1)
    exact = st.norm.logpdf(y, loo_means, np.sqrt(1 + 1 / (n - 1))).sum()
    # Monte Carlo standard error of the importance-sampling estimate, summed over
    # observations (an upper bound, the errors being positively correlated).
    weights = np.exp(-log_likelihood.reshape(-1, n))
    mcse = np.sum(weights.std(0) / weights.mean(0) / np.sqrt(weights.shape[0]))
    assert abs(loo.elpd_loo - exact) < 4 * mcse
    assert float(loo.pareto_k.max()) < 0.7


def test_netcdf_round_trip(tmp_path, draws, stats):
    idata = to_inference_data(
        posterior=draws,
        sample_stats=stats,
        log_likelihood={"y": np.zeros((CHAINS, DRAWS, 5))},
        observed_data={"y": np.arange(5.0)},
        dims={"theta": ["school"], "y": ["obs"]},
        coords={"school": ["a", "b", "c"]},
    )
    path = tmp_path / "idata.nc"
    idata.to_netcdf(str(path))
    loaded = az.from_netcdf(str(path))
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data"):
        original, back = get_group(idata, group), get_group(loaded, group)
        assert set(back.data_vars) == set(original.data_vars)
        for name in original.data_vars:
            assert back[name].dims == original[name].dims
            assert back[name].dtype == original[name].dtype
            np.testing.assert_array_equal(back[name].values, original[name].values)
    assert list(get_group(loaded, "posterior")["school"].values) == ["a", "b", "c"]
    assert loaded.attrs["inference_library"] == "posteria"


def test_extend_adds_or_replaces_a_group_without_touching_the_original(draws):
    idata = to_inference_data(
        posterior=draws, observed_data={"y": np.arange(5.0)}, dims={"y": ["obs"]}
    )
    first = extend(
        idata, "posterior_predictive", {"y": np.zeros((CHAINS, DRAWS, 5))}, dims={"y": ["obs"]}
    )
    assert get_group(idata, "posterior_predictive") is None
    assert get_group(first, "posterior_predictive")["y"].dims == ("chain", "draw", "obs")
    np.testing.assert_array_equal(get_group(first, "posterior")["mu"].values, draws["mu"])
    assert first.attrs["inference_library"] == "posteria"

    second = extend(first, "posterior_predictive", {"z": np.ones((CHAINS, DRAWS))})
    assert list(get_group(second, "posterior_predictive").data_vars) == ["z"]
    with_data = extend(second, "constant_data", {"x": np.ones(5)}, dims={"x": ["obs"]})
    assert get_group(with_data, "constant_data")["x"].dims == ("obs",)
    with_stats = extend(with_data, "sample_stats", {"is_divergent": np.zeros((CHAINS, DRAWS))})
    assert list(get_sample_stats(with_stats)) == ["is_divergent"]
