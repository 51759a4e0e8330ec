"""From worker records to comparisons and a markdown report.

Ratios are oriented so that **above 1 means posteria is better**:
``ess_per_s_*`` is posteria's min-ESS per second over the peer's, and
``grads_per_ess`` is the peer's gradient evaluations per effective draw
over posteria's. The alternated first calls' ratio is a wall-time ratio,
posteria's over the peer's (below 1: posteria faster), as the first-call
target reads (at most half of NumPyro's wall time on the linear regression).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

AGREEMENT_Z = 5.0
"""Largest |difference of posterior means| / combined MCSE over a model's scalars that still counts as agreement.

If both engines sample the same posterior and their MCSEs are right, each
scalar's ``z`` is about standard normal, and the report takes the maximum
over all of a model's scalars (up to 503, in ``stochastic_volatility``).
A per-scalar bound of 5 (``P(|z| > 5) = 5.7e-7``) keeps the chance of a
false "NO" below ``503 * 5.7e-7 = 3e-4`` per engine and model, and near 0.3%
over a whole run (7 engines against posteria, 761 scalars each); the 4 used
for a single mean in the test suite would give 3% per engine on that model
alone. A real difference (a wrong prior, a biased kernel) shifts a mean by
a fixed amount while MCSEs shrink as draws grow, so a full-length run shows
it even where ``--quick`` may not.
"""


def _ok(runs: Iterable[dict]) -> list[dict]:
    return [run for run in runs if run["status"] == "ok"]


def _is_posteria(engine: str) -> bool:
    return engine == "posteria" or engine.startswith("posteria-")


def _ratio(numerator: float, denominator: float) -> float | None:
    if not denominator or not math.isfinite(numerator) or not math.isfinite(denominator):
        return None
    return numerator / denominator


def ratios(runs: list[dict]) -> list[dict]:
    """posteria's (and its variants') ratios to every peer on every model both ran.

    Examples
    --------
    >>> def run(engine, ess_s, grads):
    ...     metrics = {"ess_per_s_first": ess_s, "ess_per_s_second": 2 * ess_s, "grads_per_ess": grads}
    ...     return {"engine": engine, "model": "m", "status": "ok", "metrics": metrics}
    >>> [row] = ratios([run("posteria", 100.0, 10.0), run("numpyro", 50.0, 20.0)])
    >>> row["peer"], row["ess_per_s_first"], row["ess_per_s_second"], row["grads_per_ess"]
    ('numpyro', 2.0, 2.0, 2.0)
    """
    out = []
    ok = _ok(runs)
    for ours in (run for run in ok if _is_posteria(run["engine"])):
        for peer in (run for run in ok if run["model"] == ours["model"] and not _is_posteria(run["engine"])):
            a, b = ours["metrics"], peer["metrics"]
            out.append({
                "model": ours["model"], "engine": ours["engine"], "peer": peer["engine"],
                "ess_per_s_first": _ratio(a["ess_per_s_first"], b["ess_per_s_first"]),
                "ess_per_s_second": _ratio(a["ess_per_s_second"], b["ess_per_s_second"]),
                "grads_per_ess": _ratio(b["grads_per_ess"], a["grads_per_ess"]),
            })
    return out


def first_call_summary(rounds: list[dict[str, float | None]], engine: str = "posteria") -> list[dict]:
    """Per peer in ``rounds`` (``{engine: first-call seconds or None}`` each): both engines' median seconds,
    and the median, lowest and highest of the rounds' ratios ``engine / peer`` (below 1: ``engine`` faster).

    Examples
    --------
    >>> rounds = [{"posteria": 2.0, "numpyro": 4.0}, {"posteria": 2.4, "numpyro": 4.0},
    ...           {"posteria": 1.8, "numpyro": 6.0}, {"posteria": None, "numpyro": 4.0}]
    >>> [row] = first_call_summary(rounds)
    >>> row["peer"], row["rounds"], row["engine_s"], row["peer_s"]
    ('numpyro', 3, 2.0, 4.0)
    >>> row["ratio"], row["ratio_low"], row["ratio_high"]
    (0.5, 0.3, 0.6)
    """
    peers = sorted({name for walls in rounds for name in walls} - {engine})
    summary = []
    for peer in peers:
        pairs = np.array([(w[engine], w[peer]) for w in rounds if w.get(engine) and w.get(peer)])
        if not len(pairs):
            continue
        ratio = pairs[:, 0] / pairs[:, 1]
        summary.append({"engine": engine, "peer": peer, "rounds": len(pairs),
                        "engine_s": float(np.median(pairs[:, 0])), "peer_s": float(np.median(pairs[:, 1])),
                        "ratio": float(np.median(ratio)), "ratio_low": float(ratio.min()),
                        "ratio_high": float(ratio.max())})
    return summary


def _z(ours: dict, theirs: dict) -> float:
    """|difference of means| / combined MCSE; infinite where the MCSE is zero or not a number and the means differ."""
    difference = abs(ours["mean"] - theirs["mean"])
    scale = math.hypot(ours["mcse_mean"], theirs["mcse_mean"])
    return difference / scale if scale > 0 else (0.0 if difference == 0 else math.inf)


def agreement(runs: list[dict]) -> list[dict]:
    """Do the engines find the same posterior means? Each engine against a reference engine, per model.

    The reference is posteria where it ran, else the first engine that did.
    For every scalar both report, ``z = |mean_a - mean_b| / sqrt(mcse_a^2 +
    mcse_b^2)``; the largest ``z`` is reported with its parameter, and the
    engine agrees when it is below :data:`AGREEMENT_Z`.

    Examples
    --------
    >>> def run(engine, mean):
    ...     return {"engine": engine, "model": "m", "status": "ok",
    ...             "parameters": {"x": {"mean": mean, "mcse_mean": 0.1}}}
    >>> [(row["engine"], round(row["max_z"], 2), row["agrees"]) for row in agreement([run("posteria", 0.0),
    ...     run("pymc", 0.2), run("nutpie", 1.0)])]
    [('pymc', 1.41, True), ('nutpie', 7.07, False)]
    """
    out = []
    ok = _ok(runs)
    for model in dict.fromkeys(run["model"] for run in ok):
        candidates = [run for run in ok if run["model"] == model]
        reference = next((run for run in candidates if run["engine"] == "posteria"), candidates[0])
        for other in candidates:
            if other is reference:
                continue
            z = {name: _z(ours, other["parameters"][name])
                 for name, ours in reference["parameters"].items() if name in other["parameters"]}
            worst = max(z, key=z.get, default=None)
            max_z = z[worst] if worst is not None else None
            out.append({"model": model, "engine": other["engine"], "reference": reference["engine"],
                        "max_z": max_z, "parameter": worst, "agrees": max_z is not None and max_z < AGREEMENT_Z})
    return out


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(cell) for cell in row) + " |" for row in rows]
    return lines


def markdown(results: dict) -> str:
    """The report as markdown: environment, per-run table, ratios, overhead, start-up, agreement.

    Examples
    --------
    >>> results = {"environment": {"date": "today", "versions": {"posteria": "0.1.0"}},
    ...            "settings": {"draws": 10}, "runs": [{"engine": "pymc", "model": "m", "status": "skipped",
    ...            "note": "not installed: pymc"}], "ratios": [], "agreement": [], "startup": None}
    >>> print(markdown(results).splitlines()[0])
    # posteria benchmarks
    """
    env, settings = results["environment"], results["settings"]
    lines = ["# posteria benchmarks", ""]
    lines += [f"- {key}: {value}" for key, value in env.items() if key != "versions"]
    lines += ["- versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)]
    lines += ["- settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()), ""]
    if results.get("engines"):
        lines += ["## Engines", ""] + [f"- {name}: {how}" for name, how in results["engines"].items()] + [""]

    lines += ["## Runs", "",
              "Convergence from the second call; grads/ESS over both calls (their gradients over their min bulk "
              "ESS: two seeds); ESS/s = min bulk ESS of a call over its wall time (1st call: compilation "
              "included).", ""]
    rows = []
    for run in results["runs"]:
        m = run.get("metrics", {})
        rows.append([run["model"], run["engine"], m.get("min_ess_bulk"), m.get("min_ess_tail"), m.get("max_rhat"),
                     m.get("num_divergent"), m.get("grads_per_ess"), m.get("wall_first_s"), m.get("wall_second_s"),
                     m.get("ess_per_s_first"), m.get("ess_per_s_second"), m.get("compile_s"), m.get("sampling_s"),
                     run["status"] if run["status"] != "ok" else run.get("note", "")])
    lines += _table(["model", "engine", "min ESS bulk", "min ESS tail", "max R-hat", "div", "grads/ESS",
                     "1st call s", "2nd call s", "ESS/s 1st", "ESS/s 2nd", "compile s", "sampling s", "note"], rows)

    lines += ["", "## posteria / peer (above 1: posteria better)", ""]
    lines += _table(["model", "engine", "peer", "ESS/s 1st", "ESS/s 2nd", "grads/ESS"],
                    [[r["model"], r["engine"], r["peer"], r["ess_per_s_first"], r["ess_per_s_second"],
                      r["grads_per_ess"]] for r in results["ratios"]])

    overhead = [run for run in _ok(results["runs"]) if "overhead" in run]
    if overhead:
        lines += ["", "## posteria sampler overhead (one chain: NUTS time per gradient / bare gradient time)", "",
                  "Medians over nine turns; the ratios are medians of the turns' ratios, with their quartiles. "
                  "floor: a gradient and its product with the adapted metric, as every leapfrog step needs.", ""]
        lines += _table(["model", "engine", "NUTS us/grad", "bare us/grad", "overhead", "quartiles", "floor us/grad",
                         "NUTS / floor"],
                        [[run["model"], run["engine"], run["overhead"]["nuts_us_per_grad"],
                          run["overhead"]["bare_us_per_grad"], run["overhead"]["overhead"],
                          f"{run['overhead']['overhead_low']:.2f}-{run['overhead']['overhead_high']:.2f}",
                          run["overhead"]["floor_us_per_grad"], run["overhead"]["overhead_over_floor"]]
                         for run in overhead])

    first_calls = results.get("first_calls")
    if first_calls:
        lines += ["", f"## First call, alternated ({first_calls['model']}: fresh processes, the engines taking turns)",
                  "", "Wall time of the first call (model build and compile included); ratio: posteria / peer "
                  "per round, its median and range (below 1: posteria faster).", ""]
        lines += _table(["engine", "peer", "rounds", "engine s (median)", "peer s (median)", "ratio", "range"],
                        [[r["engine"], r["peer"], r["rounds"], r["engine_s"], r["peer_s"], r["ratio"],
                          f"{r['ratio_low']:.2f}-{r['ratio_high']:.2f}"] for r in first_calls["summary"]])
        lines += [f"- {note}" for note in first_calls["notes"]]

    startup = results.get("startup")
    if startup:
        lines += ["", "## posteria start-up (linear regression, two processes, one persistent cache)", ""]
        if "error" in startup:
            lines += [f"- failed: {startup['error']}"]
        else:
            lines += _table(["process", "import to draws s", "import s", "compile s", "sampling s", "whole process s"],
                            [[which, s["import_to_draws_s"], s["import_s"], s["compile_s"], s["sampling_s"],
                              s["process_s"]] for which, s in (("first", startup["first"]),
                                                                ("second", startup["second"]))])

    lines += ["", f"## Agreement of posterior means (max |z| over scalars; agrees if < {AGREEMENT_Z:g})", ""]
    lines += _table(["model", "engine", "reference", "max abs z", "parameter", "agrees"],
                    [[r["model"], r["engine"], r["reference"], r["max_z"], r["parameter"], r["agrees"]]
                     for r in results["agreement"]])

    notes = [run for run in results["runs"] if run["status"] != "ok"]
    if notes:
        lines += ["", "## Skipped or failed", ""]
        lines += [f"- {run['engine']} on {run['model']}: {run['status']}: {run['note']}" for run in notes]
    return "\n".join(lines) + "\n"
