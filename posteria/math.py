"""``pa.math``: functions that build model expressions (and work on plain arrays too).

Each function applies its ``jax.numpy`` / ``jax.nn`` / ``jax.scipy``
counterpart; given model variables it records an expression, given arrays
it computes at once.

Examples
--------
>>> import numpy as np, posteria as pa
>>> with pa.Model():
...     beta = pa.Normal("beta", 0.0, 1.0, shape=3)
...     mu = pa.math.dot(np.ones((5, 3)), beta)
>>> mu.shape
(5,)
>>> float(pa.math.invlogit(0.0))
0.5
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp

from posteria.distributions.special import betaln, gammaln
from posteria.model.graph import apply


def op(fn: Callable) -> Callable:
    """Lift a JAX function ``f(arrays) -> array`` to model expressions (also ``pa.op``).

    Use it for anything ``pa.math`` lacks: loops with ``lax.scan``, recursions,
    ODE solutions, neural networks. Arguments that are model variables or
    arrays become inputs; numbers, strings and tuples stay static.

    Examples
    --------
    >>> import jax, jax.numpy as jnp, posteria as pa
    >>> @pa.op
    ... def running_sum(x):
    ...     return jax.lax.scan(lambda c, v: (c + v, c + v), 0.0, x)[1]
    >>> with pa.Model():
    ...     steps = pa.Normal("steps", 0.0, 1.0, shape=10)
    ...     path = running_sum(steps)
    >>> path.shape
    (10,)
    """

    def lifted(*args, **kwargs):
        return apply(fn, *args, **kwargs)

    lifted.__name__ = getattr(fn, "__name__", "op")
    lifted.__doc__ = fn.__doc__
    lifted.__wrapped__ = fn
    return lifted


def _log1mexp(x):
    """log(1 - exp(-x)) for x > 0, stable."""
    return jnp.where(x < jnp.log(2.0), jnp.log(-jnp.expm1(-x)), jnp.log1p(-jnp.exp(-x)))


def _logdet(x):
    return jnp.linalg.slogdet(x)[1]


def _switch(condition, if_true, if_false):
    return jnp.where(condition, if_true, if_false)


_FUNCTIONS: dict[str, Callable] = {
    # elementwise
    "exp": jnp.exp, "log": jnp.log, "log1p": jnp.log1p, "expm1": jnp.expm1, "sqrt": jnp.sqrt,
    "square": jnp.square, "sqr": jnp.square, "abs": jnp.abs, "sign": jnp.sign, "power": jnp.power, "pow": jnp.power,
    "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan, "arcsin": jnp.arcsin, "arccos": jnp.arccos, "arctan": jnp.arctan,
    "sinh": jnp.sinh, "cosh": jnp.cosh, "tanh": jnp.tanh, "arctan2": jnp.arctan2,
    "floor": jnp.floor, "ceil": jnp.ceil, "round": jnp.round, "clip": jnp.clip,
    "maximum": jnp.maximum, "minimum": jnp.minimum,
    "sigmoid": jax.nn.sigmoid, "invlogit": jax.nn.sigmoid, "expit": jax.nn.sigmoid, "logit": jsp.logit,
    "softplus": jax.nn.softplus, "log_sigmoid": jax.nn.log_sigmoid, "log1mexp": _log1mexp,
    "erf": jsp.erf, "erfc": jsp.erfc, "erfinv": jsp.erfinv, "gammaln": gammaln, "lgamma": gammaln,
    "digamma": jsp.digamma, "betaln": betaln, "logaddexp": jnp.logaddexp, "xlogy": jsp.xlogy,
    "eq": jnp.equal, "neq": jnp.not_equal, "lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater,
    "ge": jnp.greater_equal, "and_": jnp.logical_and, "or_": jnp.logical_or, "invert": jnp.logical_not,
    "where": jnp.where, "switch": _switch, "isnan": jnp.isnan,
    # reductions and scans
    "sum": jnp.sum, "mean": jnp.mean, "prod": jnp.prod, "max": jnp.max, "min": jnp.min, "std": jnp.std,
    "var": jnp.var, "cumsum": jnp.cumsum, "cumprod": jnp.cumprod, "logsumexp": jsp.logsumexp,
    "softmax": jax.nn.softmax, "log_softmax": jax.nn.log_softmax,
    # shapes
    "stack": jnp.stack, "concatenate": jnp.concatenate, "reshape": jnp.reshape, "flatten": jnp.ravel,
    "transpose": jnp.transpose, "expand_dims": jnp.expand_dims, "squeeze": jnp.squeeze,
    "broadcast_to": jnp.broadcast_to, "zeros_like": jnp.zeros_like, "ones_like": jnp.ones_like,
    "tril": jnp.tril, "triu": jnp.triu, "diag": jnp.diag, "diagonal": jnp.diagonal, "trace": jnp.trace,
    "take": jnp.take, "repeat": jnp.repeat, "tile": jnp.tile, "roll": jnp.roll,
    # linear algebra
    "dot": jnp.dot, "matmul": jnp.matmul, "outer": jnp.outer, "einsum": jnp.einsum, "cholesky": jnp.linalg.cholesky,
    "matrix_inverse": jnp.linalg.inv, "inv": jnp.linalg.inv, "det": jnp.linalg.det, "logdet": _logdet,
    "solve": jnp.linalg.solve,
}

for _name, _fn in _FUNCTIONS.items():
    globals()[_name] = op(_fn)
    globals()[_name].__doc__ = f"``{getattr(_fn, '__module__', 'jax')}.{getattr(_fn, '__name__', _name)}`` on model expressions."

__all__ = ["op", *_FUNCTIONS]
