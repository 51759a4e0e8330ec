"""posteria: Bayesian inference for machine learning, on JAX.

>>> import posteria as pa
>>> with pa.Model() as model:
...     x = pa.Normal("x", 0.0, 1.0)
>>> model.free_RVs
[<Normal 'x' (free) shape=()>]
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)  # NUTS in float32 diverges where float64 does not

from posteria import compilation_cache, io, math, transforms  # noqa: E402
from posteria.compilation_cache import compilation_cache_dir, set_compilation_cache  # noqa: E402
from posteria.diagnostics import check  # noqa: E402
from posteria.distributions import *  # noqa: E402,F401,F403
from posteria.distributions import __all__ as _distribution_names  # noqa: E402
from posteria.errors import ModelError, SamplingError, SamplingWarning  # noqa: E402
from posteria.math import op  # noqa: E402
from posteria.model import (  # noqa: E402
    ConstantData,
    Data,
    Deterministic,
    Model,
    MutableData,
    Potential,
    modelcontext,
    set_data,
)
from posteria.sampling import sample, sample_posterior_predictive, sample_prior_predictive  # noqa: E402

compilation_cache.configure_from_environment()

__version__ = "0.1.0"

__all__ = [
    *_distribution_names, "ConstantData", "Data", "Deterministic", "Model", "ModelError", "MutableData",
    "Potential", "SamplingError", "SamplingWarning", "check", "compilation_cache", "compilation_cache_dir", "io",
    "math", "modelcontext", "op", "sample", "sample_posterior_predictive", "sample_prior_predictive", "set_compilation_cache", "set_data", "transforms",
]
