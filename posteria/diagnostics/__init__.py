"""Diagnostics checked after every run, and the policy that refuses bad results."""

from posteria.diagnostics.checks import check, enforce
from posteria.diagnostics.report import Problem, Report, Thresholds

__all__ = ["Problem", "Report", "Thresholds", "check", "enforce"]
