"""How posteria's programs are compiled: for the first result, or for the fastest run.

On CPU most of a small model's first fit is XLA compiling the chain program
(2-3 s against well under 1 s of sampling). XLA's MLIR fusion emitters and
LLVM's top optimisation level make each kernel a little faster but cost
compile time for each of the program's ~300 kernels. ``"fast_compile"``
turns both down. On the benchmark suite (2 CPU cores, 2026-11-22) the chain
program compiled 25-45% faster (linear regression 1.23 -> 0.74 s,
hierarchical 2.3 -> 1.4 s, correlated Gaussian 1.7 -> 1.0 s). Time per
gradient stayed within 5% on most models, but rose 10% on the stochastic
volatility model and 40% on a gradient with a scatter (the hierarchical
model's ``a[group]``). ``"fast_runtime"`` is XLA's default, for long runs.

Whatever the mode, a float64 program sums in one pass, in XLA's own kernels
(:data:`FLOAT64_OPTIONS`).
XLA:CPU splits every sum of more than 32 terms into a reduce-window kernel of
partial sums and a final sum, for float32's sake (pairwise summation). In
float64 the one-pass sum's rounding error, about ``sqrt(n) * 1e-16`` of the
sum's magnitude, is far below anything NUTS can notice. The split kernels
compile slowly: the stochastic volatility model's chain program held 47 of
them. Dropping them compiled it 21% faster (3.1 -> 2.4 s) and ran it 8%
faster; the correlated Gaussian compiled 15% faster and ran 8% faster. Models
with few long sums are unchanged.

XLA:CPU also hands a long sum to the YNNPACK library by default: its own
kernel, outside XLA's generated code and its thread. In float64 that cost
time wherever a model sums over its data. Per leapfrog step, same process,
alternated (2026-12-03): diamonds' bare gradient 35.3 -> 30.4 us and its NUTS
step 41.9 -> 36.3 us; the logistic regression's NUTS step 5-8% faster; the
models without such sums unchanged; compile times unchanged. Float32
programs keep XLA's default. Other backends always use XLA's defaults.

A program is built with Python's cyclic garbage collector paused
(:func:`garbage_collection_paused`). Tracing allocates hundreds of thousands
of small objects, and each full collection then walks every object the
process holds (JAX's and the user's too): the linear regression's chain
program traced in 0.36 s with collections and in 0.17 s without.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Any, Iterator

import jax

COMPILE_MODES: dict[str, dict[str, Any]] = {
    "fast_compile": {"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 1},
    "fast_runtime": {},
}
"""XLA:CPU compiler options of each compile mode."""

FLOAT64_OPTIONS: dict[str, Any] = {
    "xla_disable_hlo_passes": "tree_reduction_rewriter",
    "xla_cpu_experimental_ynn_fusion_type": "",
}
"""XLA:CPU compiler options of every float64 program: sums in one pass, not pairwise, and no YNNPACK kernels."""


def compile_lowered(lowered: jax.stages.Lowered, mode: str, *, dtype: str) -> jax.stages.Compiled:
    """Compile ``lowered`` in compile mode ``mode`` (a key of :data:`COMPILE_MODES`) for precision ``dtype``.

    ``dtype="float64"`` adds :data:`FLOAT64_OPTIONS`. A JAX whose XLA lacks
    one of the options compiles with XLA's defaults.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> lowered = jax.jit(lambda x: jnp.sin(x).sum()).lower(jnp.ones(3))
    >>> float(compile_lowered(lowered, "fast_compile", dtype="float64")(jnp.zeros(3)))
    0.0
    """
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    options = {}
    if jax.default_backend() == "cpu":
        options = {**COMPILE_MODES[mode], **(FLOAT64_OPTIONS if dtype == "float64" else {})}
    if options:
        try:
            return lowered.compile(compiler_options=options)
        except jax.errors.JaxRuntimeError as error:
            if "No such compile option" not in str(error):
                raise
    return lowered.compile()


@contextlib.contextmanager
def garbage_collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused inside the block (as it was after), for tracing and compiling.

    Reference counting still frees most objects at once; the cycles tracing
    leaves are collected at the next collection after the block.

    Examples
    --------
    >>> import gc
    >>> with garbage_collection_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
