"""The benchmark harness: the quick run's files and fields, the metrics, and that every engine has the same model."""

import doctest
import importlib
import importlib.util
import json
import subprocess
import sys
import time
from argparse import Namespace
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # benchmarks/ is not installed with the package

import posteria as pa  # noqa: E402
from benchmarks import data, environment, metrics, process, report, run, worker  # noqa: E402
from benchmarks.data import MODELS, POSITIVE, model_data  # noqa: E402
from benchmarks.engines import ENGINES, EngineSpec, Fit, pymc_models  # noqa: E402

jax.config.update("jax_enable_x64", True)
HAS_NUMPYRO = importlib.util.find_spec("numpyro") is not None
QUICK_ENGINES = ["posteria", "numpyro"] if HAS_NUMPYRO else ["posteria"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--models", "linear_regression",
         "--engines", ",".join(QUICK_ENGINES), "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out, completed.stdout, json.loads((out / "results.json").read_text())


def test_quick_run_records_every_field(quick_run):
    _, _, results = quick_run
    assert {"date", "cpu", "cores", "python", "versions", "load_average"} <= set(results["environment"])
    assert set(environment.PACKAGES) <= set(results["environment"]["versions"])
    assert results["settings"] == {"draws": 100, "tune": 100, "chains": 2, "seed": 1, "models": ["linear_regression"],
                                   "engines": QUICK_ENGINES, "quick": True, "first_call_rounds": 1}
    assert [(r["engine"], r["model"]) for r in results["runs"]] == [(e, "linear_regression") for e in QUICK_ENGINES]
    expected_scalars = {"alpha", "sigma", *(f"beta[{i}]" for i in range(10))}
    for record in results["runs"]:
        assert record["status"] == "ok", record
        m, (first, second) = record["metrics"], record["calls"]
        assert set(record["parameters"]) == expected_scalars
        assert m["min_ess_bulk"] == min(p["ess_bulk"] for p in record["parameters"].values())
        assert m["grads_per_ess"] == pytest.approx((first["num_grads"] + second["num_grads"])
                                                   / (first["min_ess_bulk"] + second["min_ess_bulk"]))
        assert m["ess_per_s_first"] == pytest.approx(first["min_ess_bulk"] / first["wall_s"])
        assert second["num_draws"] == 200 and second["num_grads"] >= 200
        assert m["max_rhat"] < 1.1 and m["num_divergent"] == 0  # rank-normalised R-hat may dip below 1
    posteria = next(r for r in results["runs"] if r["engine"] == "posteria")
    assert posteria["metrics"]["compile_s"] > posteria["calls"][1]["extra"]["compile_time"]  # the 2nd call reuses
    assert set(posteria["overhead"]) == {"nuts_us_per_grad", "bare_us_per_grad", "overhead", "overhead_low",
                                         "overhead_high", "floor_us_per_grad", "overhead_over_floor", "num_steps"}
    first_calls = results["first_calls"]  # --quick: one round
    assert first_calls["model"] == "linear_regression" and len(first_calls["rounds"]) == 1
    assert set(first_calls["rounds"][0]) == set(QUICK_ENGINES) and all(first_calls["rounds"][0].values())
    if HAS_NUMPYRO:
        [row] = first_calls["summary"]
        walls = first_calls["rounds"][0]
        assert row["ratio"] == pytest.approx(walls["posteria"] / walls["numpyro"])
    startup = results["startup"]
    assert startup["first"]["compile_s"] > startup["second"]["compile_s"] and startup["cache_files"] > 0
    if HAS_NUMPYRO:
        [ratio] = results["ratios"]
        assert (ratio["engine"], ratio["peer"]) == ("posteria", "numpyro")
        numpyro = next(r for r in results["runs"] if r["engine"] == "numpyro")
        assert ratio["grads_per_ess"] == pytest.approx(numpyro["metrics"]["grads_per_ess"]
                                                       / posteria["metrics"]["grads_per_ess"])
        [agreement] = results["agreement"]
        assert agreement["agrees"], agreement  # same posterior within AGREEMENT_Z = 5 combined MCSEs
    assert results["targets"] == report.targets(results)
    measured = {row["target"].split(" ")[0] for row in results["targets"]}
    assert measured == ({"1st-call", "grads/ESS", "overhead", "linear"} if HAS_NUMPYRO else {"overhead"})


def test_quick_run_writes_and_prints_the_markdown(quick_run):
    out, stdout, results = quick_run
    text = (out / "results.md").read_text()
    assert text == stdout.rstrip("\n") + "\n"
    assert "| model | engine | min ESS bulk | min ESS tail | max R-hat | div | grads/ESS |" in text
    for heading in ("## Runs", "## Targets", "## posteria sampler overhead", "## First call, alternated",
                    "## posteria start-up", "## Agreement"):
        assert heading in text
    assert sum(line.startswith("| linear_regression |") for line in text.splitlines()) >= len(results["runs"])


def test_targets_judge_the_overhead_only_where_the_gradient_is_slow_and_fail_when_missed():
    def posteria_run(model, bare_us, overhead):
        timing = {"bare_us_per_grad": bare_us, "overhead": overhead, "nuts_us_per_grad": bare_us * overhead,
                  "overhead_low": overhead, "overhead_high": overhead, "floor_us_per_grad": bare_us,
                  "overhead_over_floor": overhead}
        return {"engine": "posteria", "model": model, "status": "ok", "metrics": {}, "overhead": timing}

    def overhead_row(*runs):
        [row] = [row for row in report.targets({"runs": list(runs)}) if row["target"].startswith("overhead")]
        return row

    fast_gradient = posteria_run("small", 15.0, 3.0)  # out of scope, however large its ratio
    assert overhead_row(fast_gradient) == {"target": "overhead <= 1.3 where the bare gradient takes > 20 us",
                                           "value": "no model in scope", "met": None}
    assert overhead_row(fast_gradient, posteria_run("big", 30.0, 1.2))["met"] is True
    missed = overhead_row(fast_gradient, posteria_run("big", 30.0, 1.2), posteria_run("bigger", 90.0, 1.4))
    assert missed["met"] is False and missed["value"] == "1.4 (bigger, 90 us)"
    assert "| overhead <= 1.3 where the bare gradient takes > 20 us | 1.4 (bigger, 90 us) | NO |" in report.markdown(
        {"environment": {"versions": {}}, "settings": {}, "ratios": [], "agreement": [],
         "runs": [posteria_run("bigger", 90.0, 1.4)]})


def test_missing_package_is_skipped_for_every_model(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(ENGINES, "absent", EngineSpec("absent_engine", ("no_such_package_here",), {}, "-"))
    results = run.main(["--quick", "--engines", "absent", "--out", str(tmp_path)])
    assert [(r["model"], r["status"], r["note"]) for r in results["runs"]] == [
        (model, "skipped", "not installed: no_such_package_here") for model in run.QUICK_MODELS]
    assert results["startup"] is None and "## Skipped or failed" in capsys.readouterr().out


def test_a_failing_engine_becomes_an_error_record(monkeypatch, tmp_path):
    monkeypatch.setitem(ENGINES, "posteria-bad", EngineSpec("posteria_engine", ("posteria",),
                                                            {"adaptation": "no-such-method"}, "-"))
    out = tmp_path / "record.json"
    worker.main(["posteria-bad", "eight_schools", "--draws", "10", "--tune", "10", "--chains", "1",
                 "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["status"] == "error" and record["note"].startswith("ValueError: adaptation must be 'auto' or one of")
    assert "no-such-method" in record["note"] and "Traceback" in record["traceback"]


def test_engine_options_reach_pa_sample():
    fitters = {name: worker.make_engine_fitter(name, "eight_schools", draws=20, tune=20, chains=1)
               for name in ("posteria", "posteria-fisher", "posteria-dense")}
    for name, fitter in fitters.items():
        assert ENGINES[name].options.items() <= fitter.sample_kwargs.items(), name
    fitter = fitters["posteria-dense"]
    fit = fitter(1)  # one (10, 10) inverse mass matrix per chain, where a diagonal one is (10,)
    assert fit.draws["theta_trans"].shape == (1, 20, 8)
    assert fitter.idata.sample_stats["inverse_mass_matrix"].shape == (1, 10, 10)
    from benchmarks.overhead import sampler_overhead

    # A dense metric runs through both timers (NUTS, and the floor's velocity_fn); `_summary`'s doctest checks
    # the statistics.
    overhead = sampler_overhead(fitter.model, fitter.idata, num_transitions=10, target_seconds=0.0)
    assert overhead["num_steps"] >= 9 * 10


def test_the_timed_chain_is_the_fit_of_its_idata_not_the_newest_program():
    from benchmarks.overhead import SamplingChain

    with pa.Model() as model:
        pa.Normal("mu", 0.0, 1.0, shape=2)
    fits = {draws: pa.sample(draws, tune=20, chains=1, seed=1, model=model, progressbar=False,
                             compute_convergence_checks=False) for draws in (30, 40)}
    for draws, idata in fits.items():
        chain = SamplingChain(model, idata)
        assert (chain.settings.tune, chain.settings.draws) == (20, draws)
        chain.warm_up(num_transitions=10)
        assert chain.next_step == 20  # the warmup's 20 transitions, in two chunks of 10
    fits[30].attrs["tuning_steps"] = 7  # a fit this model never compiled
    with pytest.raises(ValueError, match="no chain program of this fit"):
        SamplingChain(model, fits[30])


def test_the_floor_timer_multiplies_each_gradient_by_the_metric():
    from benchmarks.overhead import gradient_timer

    traced_with = []

    def velocity_fn(grad):
        traced_with.append(grad.shape)
        return 2.0 * grad

    logdensity_fn = lambda theta, data: -0.5 * jnp.sum(theta**2)  # noqa: E731
    gradient_timer(logdensity_fn, jnp.ones(3), {}, target_seconds=0.001)
    assert traced_with == []
    gradient_timer(logdensity_fn, jnp.ones(3), {}, target_seconds=0.001, velocity_fn=velocity_fn)
    assert traced_with == [(3,)]


def test_a_worker_past_the_timeout_is_killed_and_recorded():
    args = Namespace(draws=1000, tune=1000, chains=1, seed=1, timeout=1.0)
    started = time.perf_counter()
    record = run.run_worker("posteria", "eight_schools", args)
    assert time.perf_counter() - started < 10
    assert record == {"engine": "posteria", "model": "eight_schools", "chains_run": ENGINES["posteria"].chains_run,
                      "status": "error", "note": "timed out after 1 s (killed)"}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_timeout_kills_the_grandchildren_too(tmp_path):
    pid_file = tmp_path / "pid"
    setup = (f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
             f"open({str(pid_file)!r}, 'w').write(str(p.pid))")
    with pytest.raises(subprocess.TimeoutExpired):
        process.run_module(["timeit", "-n1", "-s", setup, "import time; time.sleep(60)"], timeout=3.0)
    grandchild = Path(f"/proc/{int(pid_file.read_text())}/stat")
    deadline = time.perf_counter() + 5
    while grandchild.exists() and grandchild.read_text().split(")")[-1].split()[0] != "Z":  # gone or a zombie
        assert time.perf_counter() < deadline, "the grandchild outlived the timeout"
        time.sleep(0.05)


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
    for module in (data, environment, metrics, process, pymc_models, report, run):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__


@pytest.mark.slow  # each samples eight_schools (20 draws; compilation unless cached on disk)
@pytest.mark.parametrize("module", sorted({spec.module for spec in ENGINES.values()}))
def test_doctests_of_the_engines(module):
    for package in next(spec.packages for spec in ENGINES.values() if spec.module == module):
        pytest.importorskip(package)
    result = doctest.testmod(importlib.import_module(f"benchmarks.engines.{module}"),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, module


def _random_point(model_name, rng):
    return {name: np.exp(rng.normal(scale=0.5, size=shape)) if name in POSITIVE else rng.normal(size=shape)
            for name, shape in MODELS[model_name].parameters.items()}


def _blackjax_logp(model_name, point, d):
    """BlackJAX's hand-written log density (the reference) at a constrained point, no Jacobian."""
    return float(importlib.import_module("benchmarks.engines.blackjax_engine").LOGDENSITIES[model_name](point, d))


@pytest.mark.slow  # each engine compiles its model's operations: about 3 s per model
@pytest.mark.parametrize("model_name", list(MODELS))
def test_every_jax_engine_writes_the_same_model(model_name):
    """posteria (running the PyMC-API model code) and NumPyro against BlackJAX's log density, no Jacobians."""
    point, d = _random_point(model_name, np.random.default_rng(3)), model_data(model_name)
    logps = {"blackjax": _blackjax_logp(model_name, point, d),
             "posteria": pymc_models.build_model(pa, model_name, d).logp(point, jacobian=False)}
    if HAS_NUMPYRO:
        from numpyro.infer.util import log_density

        numpyro_engine = importlib.import_module("benchmarks.engines.numpyro_engine")
        kwargs = numpyro_engine._model_kwargs(model_name, d)
        logps["numpyro"] = float(log_density(numpyro_engine.MODELS_FN[model_name], (), kwargs, point)[0])
    assert np.isfinite(logps["blackjax"])
    for engine, value in logps.items():
        assert value == pytest.approx(logps["blackjax"], rel=1e-9, abs=1e-9), (engine, logps)


@pytest.mark.slow  # PyTensor compiles a C function per model
@pytest.mark.parametrize("model_name", list(MODELS))
def test_pymc_writes_the_same_model(model_name):
    pm = pytest.importorskip("pymc")
    point, d = _random_point(model_name, np.random.default_rng(3)), model_data(model_name)
    pm_model = pymc_models.build_model(pm, model_name, d)
    values = {pm_model.rvs_to_values[rv].name: np.log(point[rv.name]) if rv.name in POSITIVE else point[rv.name]
              for rv in pm_model.free_RVs}
    reference = _blackjax_logp(model_name, point, d)
    # PyTensor's constants (e.g. in HalfCauchy) differ from jax.scipy's in the 8th digit
    assert float(pm_model.compile_logp(jacobian=False)(values)) == pytest.approx(reference, rel=1e-7)
