"""The diagnostics report: thresholds, problems found, and their printing."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = ["Problem", "Report", "Thresholds"]


def percent(part: int, whole: int) -> str:
    """``part`` as a percentage of ``whole``, two significant digits below 10%.

    Examples
    --------
    >>> percent(12, 4000), percent(37, 4000), percent(3999, 4000)
    ('0.3%', '0.93%', '100%')
    """
    value = 100 * part / whole
    return f"{value:.2g}%" if value < 10 else f"{value:.0f}%"


class Thresholds(NamedTuple):
    """Limits past which a diagnostic becomes a problem.

    Parameters
    ----------
    max_rhat : float
        Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
    min_ess_bulk, min_ess_tail : float
        Smallest acceptable bulk and tail effective sample sizes.
    min_bfmi : float
        Smallest acceptable E-BFMI of a chain (Betancourt 2016).
    max_num_divergent : int
        Divergent transitions tolerated after tuning; more is an error.

    Examples
    --------
    >>> Thresholds(max_rhat=1.05).min_ess_bulk
    400
    """

    max_rhat: float = 1.01
    min_ess_bulk: float = 400
    min_ess_tail: float = 400
    min_bfmi: float = 0.3
    max_num_divergent: int = 0


class Problem(NamedTuple):
    """One diagnostic past its threshold.

    Parameters
    ----------
    kind : {"divergences", "rhat", "ess_bulk", "ess_tail", "treedepth", "bfmi"}
    severity : {"error", "warning"}
    variables : list of str
        Posterior variables involved (empty for whole-run problems).
    message : str
        What was measured, and the next step to take.

    Examples
    --------
    >>> Problem("rhat", "warning", ["mu"], "R-hat above 1.01 for mu").variables
    ['mu']
    """

    kind: str
    severity: str
    variables: list[str]
    message: str


@dataclass(repr=False)
class Report:
    """Diagnostics of one run: the numbers, the problems, and notes on what was skipped.

    Built by :func:`posteria.diagnostics.check`; prints as a short table.

    Attributes
    ----------
    num_chains, num_draws : int
        Posterior shape (draws per chain, after tuning).
    num_divergent : int
        Divergent transitions after tuning, over all chains.
    divergent_per_chain : ndarray of int
    divergent_variables : list of str
        Variables most associated with the divergences (a heuristic, see
        :func:`posteria.diagnostics.check`).
    rhat, ess_bulk, ess_tail : dict of str to float
        Per variable, the worst element: max R-hat, min ESS. Constant variables
        are left out; ``rhat`` is empty with fewer than 2 chains.
    bfmi : ndarray
        E-BFMI of each chain (empty without an ``energy`` stat).
    num_max_treedepth : int
        Transitions that hit ``max_treedepth``.
    max_treedepth : int
    problems : list of Problem
    thresholds : Thresholds
    notes : list of str
        Diagnostics skipped, and why.

    Examples
    --------
    >>> report = Report(num_chains=2, num_draws=100, rhat={"mu": 1.001},
    ...                 ess_bulk={"mu": 1800.4}, ess_tail={"mu": 1500.7})
    >>> report.ok
    True
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    posteria diagnostics: 2 chains x 100 draws: ok
    divergences   0 of 200 draws
    tree depth    0 transitions at max_treedepth=10
    variable   r_hat   ess_bulk   ess_tail
    mu         1.001   1800       1501
    """

    num_chains: int
    num_draws: int
    num_divergent: int = 0
    divergent_per_chain: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    divergent_variables: list[str] = field(default_factory=list)
    rhat: dict[str, float] = field(default_factory=dict)
    ess_bulk: dict[str, float] = field(default_factory=dict)
    ess_tail: dict[str, float] = field(default_factory=dict)
    bfmi: np.ndarray = field(default_factory=lambda: np.zeros(0))
    num_max_treedepth: int = 0
    max_treedepth: int = 10
    problems: list[Problem] = field(default_factory=list)
    thresholds: Thresholds = field(default_factory=Thresholds)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no diagnostic is past its threshold."""
        return not self.problems

    def _headline(self) -> str:
        status = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        chains = f"{self.num_chains} chain{'s' * (self.num_chains != 1)}"
        return f"posteria diagnostics: {chains} x {self.num_draws} draws: {status}"

    def _run_rows(self) -> list[tuple[str, str]]:
        total = self.num_chains * self.num_draws
        divergences = f"{self.num_divergent} of {total} draws"
        if self.num_divergent:
            divergences += f" ({percent(self.num_divergent, total)})"
            per_chain = " ".join(str(n) for n in self.divergent_per_chain)
            divergences += f"; per chain: {per_chain}"
            if self.divergent_variables:
                divergences += f"; most involved: {', '.join(self.divergent_variables)}"
        rows = [
            ("divergences", divergences),
            (
                "tree depth",
                f"{self.num_max_treedepth} transitions at max_treedepth={self.max_treedepth}",
            ),
        ]
        if self.bfmi.size:
            values = " ".join(f"{b:.2f}" for b in self.bfmi)
            rows.append(("E-BFMI", f"{values} (threshold {self.thresholds.min_bfmi})"))
        return rows

    def _variable_rows(self) -> list[list[str]]:
        t = self.thresholds
        rows = []
        for name in self.ess_bulk:
            cells = [name]
            for values, digits, bad in (
                (self.rhat, 3, lambda v: not v <= t.max_rhat),
                (self.ess_bulk, 0, lambda v: not v >= t.min_ess_bulk),
                (self.ess_tail, 0, lambda v: not v >= t.min_ess_tail),
            ):
                value = values.get(name)
                text = "-" if value is None else f"{value:.{digits}f}" + "*" * bad(value)
                cells.append(text)
            rows.append(cells)
        return rows

    def __str__(self) -> str:
        lines = [self._headline()]
        lines += [f"{label:<13} {text}" for label, text in self._run_rows()]
        rows = self._variable_rows()
        if rows:
            width = max(8, *(len(row[0]) for row in rows))
            lines.append(f"{'variable':<{width}}   {'r_hat':<7} {'ess_bulk':<10} ess_tail")
            lines += [f"{a:<{width}}   {b:<7} {c:<10} {d}" for a, b, c, d in rows]
            if any("*" in cell for row in rows for cell in row[1:]):
                lines.append(
                    f"* past threshold (r_hat <= {self.thresholds.max_rhat}, "
                    f"ess_bulk >= {self.thresholds.min_ess_bulk}, "
                    f"ess_tail >= {self.thresholds.min_ess_tail})"
                )
        lines += [f"{problem.severity}: {problem.message}" for problem in self.problems]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<p><b>{esc(self._headline())}</b></p>", "<table>"]
        parts += [f"<tr><th>{esc(a)}</th><td>{esc(b)}</td></tr>" for a, b in self._run_rows()]
        parts.append("</table>")
        rows = self._variable_rows()
        if rows:
            parts.append(
                "<table><tr><th>variable</th><th>r_hat</th><th>ess_bulk</th><th>ess_tail</th></tr>"
            )
            parts += [
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows
            ]
            parts.append("</table>")
        items = [f"<li><b>{esc(p.severity)}</b>: {esc(p.message)}</li>" for p in self.problems]
        items += [f"<li>note: {esc(note)}</li>" for note in self.notes]
        if items:
            parts.append("<ul>" + "".join(items) + "</ul>")
        return "\n".join(parts)
