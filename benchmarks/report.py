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


OVERHEAD_SCOPE_US = 20.0
"""The sampler-overhead target applies to models whose bare gradient takes longer than this (microseconds)."""


def targets(results: dict) -> list[dict]:
    """The benchmark issue's targets, as this run measured them: what each reads, its value, whether it is met.

    Over the models of this run, for the engine ``posteria`` (not its variants):

    - first-call min-ESS/s at least the best peer's on every model (the
      smallest ratio, and its model), and at least 1.5x on the median model;
    - gradients per effective draw at most 10% above NumPyro's on every model
      (the largest ratio ``posteria / numpyro``);
    - sampler overhead at most 1.3 where the bare gradient takes over
      :data:`OVERHEAD_SCOPE_US` (the largest in scope; ``met`` is None when no
      model is);
    - the linear regression's first call in at most half NumPyro's wall time
      (the alternated rounds' median where they ran, else the main table's calls).

    The first three read :func:`ratios`. A target the run has no data for is left out.

    Examples
    --------
    >>> def run(engine, model, ess_s, grads, wall, bare=None, overhead=None):
    ...     out = {"engine": engine, "model": model, "status": "ok",
    ...            "metrics": {"ess_per_s_first": ess_s, "ess_per_s_second": ess_s, "grads_per_ess": grads,
    ...                        "wall_first_s": wall}}
    ...     return {**out, "overhead": {"bare_us_per_grad": bare, "overhead": overhead}} if bare else out
    >>> runs = [run("posteria", "linear_regression", 300.0, 4.2, 1.0, bare=3.0, overhead=2.1),
    ...         run("numpyro", "linear_regression", 100.0, 4.0, 3.0),
    ...         run("posteria", "logistic", 90.0, 3.0, 5.0, bare=80.0, overhead=1.1),
    ...         run("numpyro", "logistic", 100.0, 5.0, 4.0), run("nutpie", "logistic", 120.0, 3.5, 9.0)]
    >>> for row in targets({"runs": runs}):  # logistic's best peer: nutpie
    ...     print(row["target"], "|", row["value"], "|", row["met"])
    1st-call ESS/s >= best peer's on every model | 0.75 (logistic) | False
    1st-call ESS/s >= 1.5x best peer's on the median model | 1.88 | True
    grads/ESS <= 1.1x NumPyro's on every model | 1.05 (linear_regression) | True
    overhead <= 1.3 where the bare gradient takes > 20 us | 1.1 (logistic, 80 us) | True
    linear regression's 1st call <= 0.5x NumPyro's wall time | 0.333 (main table) | True
    """
    ok = _ok(results["runs"])
    ours = {run["model"]: run for run in ok if run["engine"] == "posteria"}
    numpyro = {run["model"]: run for run in ok if run["engine"] == "numpyro"}
    rows = []

    def add(target: str, value: float, where: str | None, met: bool | None) -> None:
        rows.append({"target": target, "value": f"{value:.3g}" + (f" ({where})" if where else ""), "met": met})

    first, grads = {}, {}  # per model: the ratio to the best peer; posteria's grads/ESS over NumPyro's
    for row in ratios(results["runs"]):
        if row["engine"] != "posteria":
            continue
        if row["ess_per_s_first"] is not None:
            first[row["model"]] = min(first.get(row["model"], math.inf), row["ess_per_s_first"])
        if row["peer"] == "numpyro" and row["grads_per_ess"]:
            grads[row["model"]] = 1.0 / row["grads_per_ess"]
    if first:
        worst = min(first, key=first.get)
        add("1st-call ESS/s >= best peer's on every model", first[worst], worst, first[worst] >= 1.0)
        median = float(np.median(list(first.values())))
        add("1st-call ESS/s >= 1.5x best peer's on the median model", median, None, median >= 1.5)
    if grads:
        worst = max(grads, key=grads.get)
        add("grads/ESS <= 1.1x NumPyro's on every model", grads[worst], worst, grads[worst] <= 1.1)
    timed = {model: run["overhead"] for model, run in ours.items() if "overhead" in run}
    if timed:
        in_scope = {model: o for model, o in timed.items() if o["bare_us_per_grad"] > OVERHEAD_SCOPE_US}
        target = f"overhead <= 1.3 where the bare gradient takes > {OVERHEAD_SCOPE_US:g} us"
        if in_scope:
            worst = max(in_scope, key=lambda model: in_scope[model]["overhead"])
            value = in_scope[worst]
            add(target, value["overhead"], f"{worst}, {value['bare_us_per_grad']:.3g} us", value["overhead"] <= 1.3)
        else:
            rows.append({"target": target, "value": "no model in scope", "met": None})
    alternated = [row for row in (results.get("first_calls") or {}).get("summary", [])
                  if row["engine"] == "posteria" and row["peer"] == "numpyro"]
    target = "linear regression's 1st call <= 0.5x NumPyro's wall time"
    if alternated:
        add(target, alternated[0]["ratio"], f"median of {alternated[0]['rounds']} alternated rounds",
            alternated[0]["ratio"] <= 0.5)
    elif "linear_regression" in ours and "linear_regression" in numpyro:
        ratio = _ratio(ours["linear_regression"]["metrics"]["wall_first_s"],
                       numpyro["linear_regression"]["metrics"]["wall_first_s"])
        if ratio is not None:
            add(target, ratio, "main table", ratio <= 0.5)
    return rows


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
    """The report as markdown: environment, per-run table, targets, ratios, overhead, start-up, agreement.

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

    goals = targets(results)
    if goals:
        lines += ["", "## Targets (this run's models; posteria with its defaults)", ""]
        lines += _table(["target", "value", "met"], [[row["target"], row["value"], row["met"]] for row in goals])

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
