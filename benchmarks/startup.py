"""posteria's start-up in a new process, with and without a warm persistent compilation cache.

``python -m benchmarks.startup`` times, inside one fresh process, the span
from ``import posteria`` to the draws of the linear regression, and prints
one JSON line. :func:`measure_startup` runs it twice with the same, at first
empty, cache directory: the first process compiles and fills the cache, the
second loads the compiled program from it.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from typing import Any

from benchmarks.process import run_module


def _time_import_to_draws(draws: int, tune: int, chains: int, seed: int) -> dict[str, Any]:
    from benchmarks.data import MODELS, model_data

    data = model_data("linear_regression")
    started = time.perf_counter()
    import posteria as pa

    from benchmarks.engines.pymc_models import build_model

    imported = time.perf_counter()
    idata = pa.sample(draws, tune=tune, chains=chains, seed=seed, model=build_model(pa, "linear_regression", data),
                      target_accept=MODELS["linear_regression"].target_accept, progressbar=False,
                      on_divergence="ignore", compute_convergence_checks=False)
    finished = time.perf_counter()
    return {"import_to_draws_s": finished - started, "import_s": imported - started,
            "compile_s": float(idata.attrs["compile_time"]), "sampling_s": float(idata.attrs["sampling_time"]),
            "cache_dir": pa.compilation_cache_dir()}


def measure_startup(draws: int, tune: int, chains: int, seed: int = 1, timeout: float = 900) -> dict[str, Any]:
    """Run the start-up probe in two fresh processes sharing one new cache directory.

    Returns
    -------
    dict
        ``first`` and ``second``: ``import_to_draws_s``, ``import_s``,
        ``compile_s``, ``sampling_s`` (inside the process), ``process_s``
        (the whole process, interpreter start included) and ``cache_dir``;
        ``cache_files`` left in the directory after both.

    Raises
    ------
    RuntimeError
        When a process fails (with the end of its stderr).
    subprocess.TimeoutExpired
        When a process runs past ``timeout`` seconds (it is killed).

    Examples
    --------
    >>> out = measure_startup(draws=20, tune=20, chains=1)
    >>> out["second"]["compile_s"] < out["first"]["compile_s"], out["cache_files"] > 0
    (True, True)
    """
    env = {key: value for key, value in os.environ.items() if key != "JAX_COMPILATION_CACHE_DIR"}
    with tempfile.TemporaryDirectory(prefix="posteria-startup-") as cache:
        env["POSTERIA_COMPILATION_CACHE"] = cache
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            completed = run_module(["benchmarks.startup", "--draws", str(draws), "--tune", str(tune),
                                    "--chains", str(chains), "--seed", str(seed)], env=env, timeout=timeout)
            if completed.returncode != 0:
                raise RuntimeError(f"start-up probe exited with {completed.returncode}: "
                                   f"{completed.stderr.strip()[-1500:]}")
            result = json.loads(completed.stdout.strip().splitlines()[-1])
            result["process_s"] = time.perf_counter() - started
            runs.append(result)
        cache_files = sum(len(files) for _, _, files in os.walk(cache))
    return {"first": runs[0], "second": runs[1], "cache_files": cache_files}


def main(argv: list[str] | None = None) -> None:
    """Command line: time import-to-draws once in this process and print it as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(_time_import_to_draws(args.draws, args.tune, args.chains, args.seed)))


if __name__ == "__main__":
    main()
