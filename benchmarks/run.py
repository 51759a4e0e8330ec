"""Benchmark posteria against NumPyro, BlackJAX, PyMC and nutpie on one suite of models.

Usage (from the repository root)::

    python -m benchmarks.run                                # everything: 7 models x 8 engines, 4 x 1000/1000
    python -m benchmarks.run --models eight_schools,diamonds --engines posteria,nutpie
    python -m benchmarks.run --draws 2000 --tune 1000 --chains 4 --out benchmarks/results
    python -m benchmarks.run --quick                        # 2 chains x 100/100, two small models

It writes ``results.json`` and ``results.md`` (markdown tables) into
``--out`` (default ``benchmarks/results``) and prints the markdown. Run it on
a quiet machine: every number is a wall-clock time.

How it measures
---------------
- Models (:mod:`benchmarks.data`): linear_regression, logistic_regression,
  eight_schools, hierarchical, stochastic_volatility, correlated_gaussian,
  diamonds; the same data (fixed seeds), priors and parameterisation for
  every engine, each written in the engine's own idiom
  (``benchmarks/engines/``; posteria, PyMC and nutpie share the PyMC-API
  models of ``pymc_models.py``). All engines run in float64 with their
  default mass matrix (diagonal; posteria: diagonal below 20 dimensions and
  low-rank modified from 20 up (``adaptation="auto"``); posteria-dense: dense; posteria-low-rank
  and nutpie-low-rank: low-rank modified) and the model's target accept.
- Engines: posteria (``pa.sample`` defaults), posteria-stan
  (``adaptation="stan"``), posteria-low-rank (``adaptation="fisher_low_rank"``),
  posteria-fisher (``adaptation="fisher"``),
  posteria-dense (``dense_mass=True``), numpyro (chains in parallel over XLA
  host devices), blackjax (window adaptation + NUTS, chains in one
  ``jax.vmap``), pymc (``pm.sample``, one process per CPU), nutpie,
  nutpie-low-rank. An engine whose package is missing is skipped with a
  note.
- Each (engine, model) runs in its own fresh process
  (``python -m benchmarks.worker``), one after another, never two at once;
  one that runs past ``--timeout`` is killed with every process it started
  and recorded as an error.
  The worker fits twice: the first call's wall time includes building and
  compiling the model, the second (same model, next seed) reuses it.
  posteria's workers get a fresh, empty persistent compilation cache
  (``POSTERIA_COMPILATION_CACHE``) so the first call really compiles; JAX
  peers run without a persistent cache; PyTensor's and numba's on-disk
  caches are left as the user has them. NumPyro's ``MCMC.run`` compiles again
  on every call with parallel chains, so its second call includes compilation.
- Metrics, the same for every engine, from the draws of every constrained
  free parameter (ArviZ): min bulk and tail ESS, max R-hat, divergences,
  wall time of both calls, min-ESS per second for both, and gradient
  evaluations per effective draw (leapfrog steps of the kept draws over the
  min bulk ESS, pooled over both calls: two seeds). posteria also reports compile and sampling seconds, its
  sampler overhead (:mod:`benchmarks.overhead`), and its start-up in a second
  process with a warm cache (:mod:`benchmarks.startup`).
- First calls, alternated: on the linear regression, posteria and NumPyro
  make only their first call, each in a fresh process, taking turns for
  ``--first-call-rounds`` rounds (default 5); the report gives the median
  and range of the rounds' wall-time ratios. The main table's first calls of
  two engines lie minutes apart, and this VM's speed drifts 20-30% over
  minutes; a round's calls lie seconds apart.
- Ratios: posteria / peer for ESS/s, peer / posteria for grads per ESS
  (above 1: posteria better). Agreement: each engine's posterior means
  against posteria's, in units of combined Monte Carlo standard error
  (:data:`benchmarks.report.AGREEMENT_Z`).
- Targets (:func:`benchmarks.report.targets`): the benchmark issue's
  targets as this run measured them, over its models: first-call ESS/s
  against the best peer (every model, and the median), grads per ESS
  against NumPyro's, the sampler overhead where the bare gradient takes
  over 20 us, the linear regression's first call against NumPyro's.

JSON fields: ``environment`` (date, cpu, cores, load average, python,
platform, versions, git revision), ``settings``, ``engines`` (how each runs
chains), ``runs`` (one record per engine and model: ``status``, ``note``,
``metrics``, ``calls``, ``parameters``, ``overhead``; see
:func:`benchmarks.worker.run_one`), ``first_calls`` (``model``, ``rounds``,
``notes``, ``summary``), ``ratios``, ``agreement``, ``targets`` and
``startup`` (see :func:`benchmarks.startup.measure_startup`; ``{"error": ...}``
when the probe failed or timed out).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.data import MODELS
from benchmarks.engines import ENGINES
from benchmarks.environment import environment
from benchmarks.report import agreement, first_call_summary, markdown, ratios, targets
from benchmarks.process import REPO_ROOT, run_module
from benchmarks.startup import measure_startup

QUICK_MODELS = ("linear_regression", "eight_schools")
"""Models of ``--quick`` unless ``--models`` says otherwise."""
FIRST_CALL_MODEL = "linear_regression"
"""The model of the alternated first calls: the first-call target's (half of NumPyro's wall time)."""
FIRST_CALL_ENGINES = ("posteria", "numpyro")
"""The engines of the alternated first calls, where ``--engines`` has them."""


def _names(text: str | None, known: dict, what: str) -> list[str]:
    if text is None:
        return list(known)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return names


def missing_packages(engine: str) -> list[str]:
    """The packages ``engine`` needs that cannot be imported here.

    Examples
    --------
    >>> missing_packages("posteria")
    []
    """
    return [name for name in ENGINES[engine].packages if importlib.util.find_spec(name) is None]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with ``--quick``'s defaults filled in.

    Examples
    --------
    >>> args = parse_args(["--quick", "--engines", "posteria"])
    >>> args.draws, args.tune, args.chains, args.models, args.engines
    (100, 100, 2, ['linear_regression', 'eight_schools'], ['posteria'])
    >>> parse_args(["--draws", "500"]).chains
    4
    """
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help=f"comma-separated, from: {', '.join(MODELS)}")
    parser.add_argument("--engines", help=f"comma-separated, from: {', '.join(ENGINES)}")
    parser.add_argument("--draws", type=int, help="kept draws per chain (default 1000; --quick 100)")
    parser.add_argument("--tune", type=int, help="warmup steps per chain (default 1000; --quick 100)")
    parser.add_argument("--chains", type=int, help="chains (default 4; --quick 2)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first call (the second uses seed + 1)")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results"), help="output directory")
    parser.add_argument("--quick", action="store_true", help=f"2 chains x 100/100 on {', '.join(QUICK_MODELS)}")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds allowed to each worker")
    parser.add_argument("--no-startup", action="store_true", help="skip posteria's start-up measurement")
    parser.add_argument("--first-call-rounds", type=int,
                        help=f"rounds of alternated first calls on {FIRST_CALL_MODEL} (default 5; --quick 1; 0: none)")
    args = parser.parse_args(argv)
    if args.quick and args.models is None:
        args.models = ",".join(QUICK_MODELS)
    args.draws = args.draws or (100 if args.quick else 1000)
    args.tune = args.tune if args.tune is not None else (100 if args.quick else 1000)
    args.chains = args.chains or (2 if args.quick else 4)
    if args.first_call_rounds is None:
        args.first_call_rounds = 1 if args.quick else 5
    args.models = _names(args.models, MODELS, "models")
    args.engines = _names(args.engines, ENGINES, "engines")
    return args


def _worker_env(engine: str, cache_dir: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("JAX_COMPILATION_CACHE_DIR", "POSTERIA_COMPILATION_CACHE")}
    if ENGINES[engine].module == "posteria_engine":
        env["POSTERIA_COMPILATION_CACHE"] = cache_dir
    return env


def run_worker(engine: str, model: str, args: argparse.Namespace, first_only: bool = False) -> dict:
    """Run one (engine, model) in a fresh process and return its record (a failure becomes an error record).

    ``first_only``: the worker makes only the first call (:func:`benchmarks.worker.first_call`).
    """
    base = {"engine": engine, "model": model, "chains_run": ENGINES[engine].chains_run}
    with tempfile.TemporaryDirectory(prefix="posteria-bench-") as tmp:
        out, cache = Path(tmp) / "record.json", Path(tmp) / "jax-cache"
        command = ["benchmarks.worker", engine, model, "--draws", str(args.draws), "--tune", str(args.tune),
                   "--chains", str(args.chains), "--seed", str(args.seed), "--out", str(out)]
        command += ["--first-only"] if first_only else []
        try:
            completed = run_module(command, env=_worker_env(engine, str(cache)), timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return {**base, "status": "error", "note": f"timed out after {args.timeout:g} s (killed)"}
        if out.is_file():
            with open(out) as f:
                return json.load(f)
        return {**base, "status": "error",
                "note": f"worker exited with {completed.returncode}: {completed.stderr.strip()[-1500:]}"}


def alternated_first_calls(engines: list[str], args: argparse.Namespace) -> dict:
    """First calls on :data:`FIRST_CALL_MODEL`, each in a fresh process, the engines taking turns round by round.

    A round runs each engine once, in alternating order. The VM's speed
    drifts by 20-30% over minutes, and the main table's first calls of two
    engines lie minutes apart; a round's calls lie seconds apart, so the
    median of the rounds' ratios compares like with like
    (:func:`benchmarks.report.first_call_summary`).
    """
    rounds, notes = [], []
    for number in range(args.first_call_rounds):
        order = engines if number % 2 == 0 else engines[::-1]
        print(f"first calls, round {number + 1}/{args.first_call_rounds} ...", file=sys.stderr, flush=True)
        walls = {}
        for engine in order:
            record = run_worker(engine, FIRST_CALL_MODEL, args, first_only=True)
            walls[engine] = record.get("wall_first_s") if record["status"] == "ok" else None
            if record["status"] != "ok":
                notes.append(f"round {number + 1}, {engine}: {record['note'][:300]}")
        rounds.append(walls)
    return {"model": FIRST_CALL_MODEL, "rounds": rounds, "notes": notes, "summary": first_call_summary(rounds)}


def _save(results: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    results["ratios"] = ratios(results["runs"])
    results["agreement"] = agreement(results["runs"])
    results["targets"] = targets(results)
    with open(out_dir / "results.json", "w") as f:
        json.dump(results, f, indent=1)
    (out_dir / "results.md").write_text(markdown(results))


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark, write ``results.json`` and ``results.md``, print the markdown; returns the results."""
    args = parse_args(argv)
    out_dir = Path(args.out)
    results: dict = {
        "environment": environment(),
        "settings": {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed,
                     "models": args.models, "engines": args.engines, "quick": args.quick,
                     "first_call_rounds": args.first_call_rounds},
        "engines": {name: ENGINES[name].chains_run for name in args.engines},
        "runs": [], "ratios": [], "agreement": [], "startup": None, "first_calls": None,
    }
    skipped = {engine: f"not installed: {', '.join(missing)}"
               for engine in args.engines if (missing := missing_packages(engine))}
    jobs = [(model, engine) for model in args.models for engine in args.engines]
    for index, (model, engine) in enumerate(jobs, start=1):
        started = time.perf_counter()
        if engine in skipped:
            record = {"engine": engine, "model": model, "status": "skipped", "note": skipped[engine],
                      "chains_run": ENGINES[engine].chains_run}
        else:
            record = run_worker(engine, model, args)
        results["runs"].append(record)
        print(f"[{index}/{len(jobs)}] {engine} on {model}: {record['status']} "
              f"({time.perf_counter() - started:.0f} s) {record.get('note', '')[:200]}", file=sys.stderr, flush=True)
        _save(results, out_dir)
    first_call_engines = [e for e in FIRST_CALL_ENGINES if e in args.engines and e not in skipped]
    if args.first_call_rounds > 0 and FIRST_CALL_MODEL in args.models and "posteria" in first_call_engines:
        results["first_calls"] = alternated_first_calls(first_call_engines, args)
        _save(results, out_dir)
    if not args.no_startup and any(ENGINES[e].module == "posteria_engine" and e not in skipped for e in args.engines):
        print("posteria start-up: two processes ...", file=sys.stderr, flush=True)
        try:
            results["startup"] = measure_startup(args.draws, args.tune, args.chains, args.seed, timeout=args.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as error:  # the report says so; the runs above stand
            results["startup"] = {"error": f"{type(error).__name__}: {error}"}
    results["environment"]["load_average_after"] = environment()["load_average"]
    _save(results, out_dir)
    print((out_dir / "results.md").read_text())
    return results


if __name__ == "__main__":
    main()
