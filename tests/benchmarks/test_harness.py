"""The benchmark harness: the quick run's files and fields, the metrics, and that every engine has the same model."""

import doctest
import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # benchmarks/ is not installed with the package

from benchmarks import data, environment, metrics, report, run  # noqa: E402
from benchmarks.data import MODELS, POSITIVE, model_data  # noqa: E402
from benchmarks.engines import Fit  # noqa: E402

jax.config.update("jax_enable_x64", True)
HAS_NUMPYRO = importlib.util.find_spec("numpyro") is not None


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    engines = "posteria,numpyro" if HAS_NUMPYRO else "posteria"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--models", "linear_regression", "--engines", engines,
         "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, completed.stdout, json.loads((out / "results.json").read_text())


def test_quick_run_records_every_field(quick_run):
    _, _, results = quick_run
    assert {"date", "cpu", "cores", "python", "versions", "load_average"} <= set(results["environment"])
    assert set(environment.PACKAGES) <= set(results["environment"]["versions"])
    assert results["settings"] == {"draws": 100, "tune": 100, "chains": 2, "seed": 1, "models": ["linear_regression"],
                                   "engines": results["settings"]["engines"], "quick": True}
    expected_scalars = {"alpha", "sigma", *(f"beta[{i}]" for i in range(10))}
    for record in results["runs"]:
        assert record["status"] == "ok", record
        m, (first, second) = record["metrics"], record["calls"]
        assert set(record["parameters"]) == expected_scalars
        assert m["min_ess_bulk"] == min(p["ess_bulk"] for p in record["parameters"].values())
        assert m["grads_per_ess"] == pytest.approx(second["num_grads"] / second["min_ess_bulk"])
        assert m["ess_per_s_first"] == pytest.approx(first["min_ess_bulk"] / first["wall_s"])
        assert second["num_draws"] == 200 and second["num_grads"] >= 200
        assert 1.0 <= m["max_rhat"] < 1.1 and m["num_divergent"] == 0
    posteria = next(r for r in results["runs"] if r["engine"] == "posteria")
    assert posteria["metrics"]["compile_s"] > posteria["calls"][1]["extra"]["compile_time"]  # the 2nd call reuses
    assert set(posteria["overhead"]) == {"nuts_us_per_grad", "bare_us_per_grad", "overhead", "num_steps"}
    startup = results["startup"]
    assert startup["first"]["compile_s"] > startup["second"]["compile_s"] and startup["cache_files"] > 0
    if HAS_NUMPYRO:
        [ratio] = results["ratios"]
        assert (ratio["engine"], ratio["peer"]) == ("posteria", "numpyro")
        numpyro = next(r for r in results["runs"] if r["engine"] == "numpyro")
        assert ratio["grads_per_ess"] == pytest.approx(numpyro["metrics"]["grads_per_ess"]
                                                       / posteria["metrics"]["grads_per_ess"])
        [agreement] = results["agreement"]
        assert agreement["agrees"], agreement  # same posterior within 5 combined MCSE


def test_quick_run_writes_and_prints_the_markdown(quick_run):
    out, stdout, results = quick_run
    text = (out / "results.md").read_text()
    assert text == stdout.rstrip("\n") + "\n"
    assert "| model | engine | min ESS bulk | min ESS tail | max R-hat | div | grads/ESS |" in text
    for heading in ("## Runs", "## posteria sampler overhead", "## posteria start-up", "## Agreement"):
        assert heading in text
    assert sum(line.startswith("| linear_regression |") for line in text.splitlines()) >= len(results["runs"])


def test_missing_package_and_refused_option_are_skipped(monkeypatch, tmp_path, capsys):
    from benchmarks.engines import ENGINES, EngineSpec, EngineUnavailable
    from benchmarks.engines.posteria_engine import make_fitter

    monkeypatch.setitem(ENGINES, "absent", EngineSpec("absent_engine", ("no_such_package_here",), {}, "-"))
    results = run.main(["--quick", "--engines", "absent", "--out", str(tmp_path)])
    assert [(r["model"], r["status"], r["note"]) for r in results["runs"]] == [
        (model, "skipped", "not installed: no_such_package_here") for model in run.QUICK_MODELS]
    assert results["startup"] is None and "## Skipped or failed" in capsys.readouterr().out
    fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=10, tune=10, chains=1,
                         target_accept=0.9, adaptation="no-such-method")
    with pytest.raises(EngineUnavailable, match="no-such-method"):
        fitter(1)


def test_summarize_ess_of_a_known_autocorrelation():
    # AR(1) with coefficient rho: ESS = N (1 - rho) / (1 + rho); 4 x 5000 draws at rho = 0.8 give 2222.
    rng = np.random.default_rng(7)
    rho, draws = 0.8, np.zeros((4, 5000, 2))
    noise = rng.normal(size=draws.shape) * np.sqrt(1 - rho**2)
    draws[:, 0] = rng.normal(size=(4, 2))
    for t in range(1, 5000):
        draws[:, t] = rho * draws[:, t - 1] + noise[:, t]
    steps = np.full((4, 5000), 7)
    summary = metrics.summarize(Fit({"x": draws}, steps, np.zeros((4, 5000), bool), {}))
    expected = 20000 * (1 - rho) / (1 + rho)
    assert 0.8 * expected < summary["min_ess_bulk"] < 1.2 * expected
    assert summary["grads_per_ess"] == pytest.approx(7 * 20000 / summary["min_ess_bulk"])
    assert summary["max_rhat"] < 1.01
    draws[0] += 1.0  # one chain elsewhere: R-hat must notice
    assert metrics.summarize(Fit({"x": draws}, steps, np.zeros((4, 5000), bool), {}))["max_rhat"] > 1.1


def test_doctests_of_the_light_modules():
    for module in (data, environment, metrics, report, run):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__


def _random_point(model_name, rng):
    return {name: np.exp(rng.normal(scale=0.5, size=shape)) if name in POSITIVE else rng.normal(size=shape)
            for name, shape in MODELS[model_name].parameters.items()}


def _jax_engine_logps(model_name, point):
    """blackjax's, posteria's and NumPyro's log density of their own model at one constrained point (no Jacobians)."""
    d = model_data(model_name)
    blackjax_engine = importlib.import_module("benchmarks.engines.blackjax_engine")
    logps = {"blackjax": float(blackjax_engine.LOGDENSITIES[model_name](point, d))}
    posteria_engine = importlib.import_module("benchmarks.engines.posteria_engine")
    logps["posteria"] = posteria_engine.BUILDERS[model_name](d).logp(point, jacobian=False)
    if HAS_NUMPYRO:
        from numpyro.infer.util import log_density

        numpyro_engine = importlib.import_module("benchmarks.engines.numpyro_engine")
        kwargs = numpyro_engine._model_kwargs(model_name, d)
        logps["numpyro"] = float(log_density(numpyro_engine.MODELS_FN[model_name], (), kwargs, point)[0])
    return logps


@pytest.mark.slow  # each engine compiles its model's operations: about 3 s per model
@pytest.mark.parametrize("model_name", list(MODELS))
def test_every_jax_engine_writes_the_same_model(model_name):
    logps = _jax_engine_logps(model_name, _random_point(model_name, np.random.default_rng(3)))
    assert np.isfinite(logps["blackjax"])
    for engine, value in logps.items():
        assert value == pytest.approx(logps["blackjax"], rel=1e-9, abs=1e-9), (engine, logps)


@pytest.mark.slow  # PyTensor compiles a C function per model
@pytest.mark.parametrize("model_name", list(MODELS))
def test_pymc_writes_the_same_model(model_name):
    pytest.importorskip("pymc")
    point = _random_point(model_name, np.random.default_rng(3))
    pymc_engine = importlib.import_module("benchmarks.engines.pymc_engine")
    pm_model = pymc_engine.BUILDERS[model_name](model_data(model_name))
    values = {pm_model.rvs_to_values[rv].name: np.log(point[rv.name]) if rv.name in POSITIVE else point[rv.name]
              for rv in pm_model.free_RVs}
    reference = _jax_engine_logps(model_name, point)["blackjax"]
    # PyTensor's constants (e.g. in HalfCauchy) differ from jax.scipy's in the 8th digit
    assert float(pm_model.compile_logp(jacobian=False)(values)) == pytest.approx(reference, rel=1e-7)
