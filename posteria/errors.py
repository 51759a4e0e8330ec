"""Error types. Each carries a message that names what went wrong and how to fix it."""

from __future__ import annotations

from typing import Any


class ModelError(ValueError):
    """A model was defined wrongly (bad parameter, shape mismatch, duplicate name...)."""


class SamplingError(RuntimeError):
    """Sampling produced a result that cannot be trusted.

    The draws are not lost: ``err.idata`` holds the InferenceData and
    ``err.report`` the diagnostics report that triggered the error.

    Examples
    --------
    >>> err = SamplingError("3 divergences", idata=None)
    >>> str(err)
    '3 divergences'
    """

    def __init__(self, message: str, idata: Any = None, report: Any = None):
        super().__init__(message)
        self.idata = idata
        self.report = report


class SamplingWarning(UserWarning):
    """A diagnostic is worse than its threshold (R-hat, ESS, tree depth, E-BFMI)."""
