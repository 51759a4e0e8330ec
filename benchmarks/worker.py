"""One engine on one model, in a fresh process: ``python -m benchmarks.worker ENGINE MODEL --out FILE``.

The worker fits the model twice in the same process, with seeds ``seed``
and ``seed + 1``: the first call's wall time includes building and
compiling the model, the second reuses what the first built. It writes one
JSON record (see :func:`run_one`) to ``--out``. ``benchmarks.run`` starts
one worker per (engine, model), one after another.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
import traceback
import warnings
from typing import Any, Callable

from benchmarks.data import MODELS, model_data
from benchmarks.engines import ENGINES, Fit
from benchmarks.metrics import summarize


def _call_record(summary: dict, wall_s: float, extra: dict) -> dict:
    record = {key: value for key, value in summary.items() if key != "parameters"}
    record.update(wall_s=wall_s, ess_per_s=summary["min_ess_bulk"] / wall_s, extra=extra)
    return record


def _headline(first: dict, second: dict) -> dict:
    """The numbers the tables show: convergence from the second call, timings from both, and grads/ESS
    over both calls (both calls' gradients over both calls' minimum bulk ESS).

    One seed's minimum ESS moves by 10-20% between seeds, as much as the
    10% the grads/ESS target allows: NumPyro's grads/ESS on eight schools read
    18.5-31.2 over seeds 1-10, posteria's 19.4-25.7. Two seeds halve the
    variance of one.

    Examples
    --------
    >>> call = lambda ess, grads: {"min_ess_bulk": ess, "min_ess_tail": ess, "max_rhat": 1.0, "num_divergent": 0,
    ...                            "num_grads": grads, "grads_per_ess": grads / ess, "worst_parameter": "mu",
    ...                            "wall_s": 1.0, "ess_per_s": ess, "extra": {}}
    >>> _headline(call(1000, 30000), call(500, 20000))["grads_per_ess"]  # 50000 / 1500, not 20000 / 500
    33.333333333333336
    """
    metrics = {key: second[key] for key in ("min_ess_bulk", "min_ess_tail", "max_rhat", "num_divergent",
                                            "worst_parameter")}
    ess = first["min_ess_bulk"] + second["min_ess_bulk"]
    metrics["grads_per_ess"] = (first["num_grads"] + second["num_grads"]) / ess if ess > 0 else float("inf")
    metrics.update(wall_first_s=first["wall_s"], wall_second_s=second["wall_s"],
                   ess_per_s_first=first["ess_per_s"], ess_per_s_second=second["ess_per_s"])
    if "compile_time" in first["extra"]:
        metrics.update(compile_s=first["extra"]["compile_time"], sampling_s=second["extra"]["sampling_time"])
    return metrics


def make_engine_fitter(engine: str, model: str, *, draws: int, tune: int, chains: int) -> Callable[[int], Fit]:
    """``engine``'s fitter for ``model``: the engine's options (``ENGINES``) and the model's target accept.

    Examples
    --------
    >>> fitter = make_engine_fitter("posteria-dense", "eight_schools", draws=20, tune=20, chains=1)
    >>> fitter.sample_kwargs["dense_mass"], fitter.sample_kwargs["target_accept"]
    (True, 0.95)
    """
    spec = ENGINES[engine]
    module = importlib.import_module(f"benchmarks.engines.{spec.module}")
    return module.make_fitter(model, model_data(model), draws=draws, tune=tune, chains=chains,
                              target_accept=MODELS[model].target_accept, **spec.options)


def _timed_fit(fitter: Callable[[int], Fit], seed: int) -> tuple[Fit, float]:
    """One call of ``fitter`` and its wall time."""
    started = time.perf_counter()
    fit = fitter(seed)
    return fit, time.perf_counter() - started


def run_one(engine: str, model: str, *, draws: int, tune: int, chains: int, seed: int) -> dict[str, Any]:
    """Fit ``model`` with ``engine`` twice and summarise both fits.

    Returns
    -------
    dict
        ``engine``, ``model``, ``status`` (``ok``), ``note``, ``chains_run``,
        ``metrics`` (the headline numbers), ``calls`` (both calls in full:
        ESS, R-hat, divergences, gradients, ``wall_s``, ``ess_per_s``,
        engine extras), ``parameters`` (per scalar mean, sd, MCSE and ESS of
        the second fit) and, for posteria engines, ``overhead`` (see
        :mod:`benchmarks.overhead`).

    Examples
    --------
    >>> record = run_one("posteria", "eight_schools", draws=30, tune=30, chains=1, seed=1)
    >>> record["status"], sorted(record["metrics"])[:3]
    ('ok', ['compile_s', 'ess_per_s_first', 'ess_per_s_second'])
    """
    spec = ENGINES[engine]
    fitter = make_engine_fitter(engine, model, draws=draws, tune=tune, chains=chains)
    calls, summaries = [], []
    for call_seed in (seed, seed + 1):
        fit, wall_s = _timed_fit(fitter, call_seed)
        summaries.append(summarize(fit))
        calls.append(_call_record(summaries[-1], wall_s, fit.extra))
    record = {"engine": engine, "model": model, "status": "ok", "note": "", "chains_run": spec.chains_run,
              "metrics": _headline(*calls), "calls": calls, "parameters": summaries[-1]["parameters"]}
    if spec.module == "posteria_engine":
        from benchmarks.overhead import sampler_overhead

        num_transitions = max(10, min(100, draws // 5))
        record["overhead"] = sampler_overhead(fitter.model, fitter.idata, num_transitions=num_transitions)
    return record


def first_call(engine: str, model: str, *, draws: int, tune: int, chains: int, seed: int) -> dict[str, Any]:
    """Only the first call of :func:`run_one`, in a process of its own: ``wall_first_s`` (model build and
    compile included), and ``min_ess_bulk`` as a check that the call sampled.

    Examples
    --------
    >>> record = first_call("posteria", "eight_schools", draws=30, tune=30, chains=1, seed=1)
    >>> record["status"], record["wall_first_s"] > 0, record["min_ess_bulk"] > 0
    ('ok', True, True)
    """
    fit, wall_s = _timed_fit(make_engine_fitter(engine, model, draws=draws, tune=tune, chains=chains), seed)
    return {"engine": engine, "model": model, "status": "ok", "note": "", "chains_run": ENGINES[engine].chains_run,
            "wall_first_s": wall_s, "min_ess_bulk": summarize(fit)["min_ess_bulk"]}


def main(argv: list[str] | None = None) -> None:
    """Command line: run one (engine, model) and write its record as JSON (errors become a record too)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=list(ENGINES))
    parser.add_argument("model", choices=list(MODELS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--first-only", action="store_true", help="only the first call (see first_call)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        record = (first_call if args.first_only else run_one)(args.engine, args.model, draws=args.draws,
                                                               tune=args.tune, chains=args.chains, seed=args.seed)
    except Exception as error:  # the record says what went wrong; the runner goes on with the next engine
        record = {"engine": args.engine, "model": args.model, "status": "error",
                  "note": f"{type(error).__name__}: {error}"[:2000], "chains_run": ENGINES[args.engine].chains_run,
                  "traceback": traceback.format_exc()[-4000:]}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
