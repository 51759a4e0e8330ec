"""How many chains may run at once, and why sometimes fewer than asked.

Chains run in threads, each a call of the same compiled program (XLA
releases the GIL), so a free core takes the next chain as soon as one
finishes: no chain waits for another's trees.

One limit is jaxlib's, not ours. Its LAPACK kernels (Cholesky, triangular
solve, eigh, ...) split a *batched* call over XLA's intra-op thread pool and
block the calling pool thread until the pieces are done. When every pool
thread is such a blocked caller, nobody is left to do the pieces and the
process hangs (seen with jaxlib 0.10.2 on a 2-core machine). A program with
batched LAPACK calls therefore runs at most ``cores - 1`` chains at once,
which always leaves one pool thread free.

The other is OpenBLAS's, under those same LAPACK kernels (jaxlib calls
SciPy's). Its worker threads spin after every call, waiting for more work,
and take the cores from the chains: a low-rank metric's warmup (an
eigendecomposition at each switch) ran twice as long, and two chains on two
cores no faster than one. Chains therefore run with BLAS on one thread each
(:func:`chain_threads`): the chains are the parallelism.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

from threadpoolctl import threadpool_limits

# Primitives lowered to jaxlib's LAPACK kernels on CPU, and the rank of their
# unbatched operand.
_LAPACK_RANK = {
    "cholesky": 2, "triangular_solve": 2, "eigh": 2, "eig": 2, "lu": 2, "geqrf": 2, "geqp3": 2,
    "householder_product": 2, "ormqr": 2, "svd": 2, "schur": 2, "hessenberg": 2, "tridiagonal": 2,
    "tridiagonal_solve": 1,
}


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total).

    Examples
    --------
    >>> available_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def has_batched_lapack(jaxpr) -> bool:
    """Whether a (closed) jaxpr makes a batched LAPACK call anywhere, loops and branches included.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> batched = jax.make_jaxpr(jnp.linalg.cholesky)(jnp.ones((4, 3, 3)))
    >>> single = jax.make_jaxpr(jnp.linalg.cholesky)(jnp.ones((3, 3)))
    >>> has_batched_lapack(batched), has_batched_lapack(single)
    (True, False)
    """
    for eqn in _equations(getattr(jaxpr, "jaxpr", jaxpr)):
        rank = _LAPACK_RANK.get(eqn.primitive.name)
        if rank is not None and eqn.invars and len(eqn.invars[0].aval.shape) > rank:
            return True
    return False


def concurrent_chains(chains: int, cores: int | None, jaxpr=None) -> int:
    """How many of ``chains`` run at once: ``cores`` (default: all available), within the LAPACK limit.

    Examples
    --------
    >>> concurrent_chains(4, cores=1)
    1
    >>> concurrent_chains(2, cores=8)
    2
    """
    if cores is not None and cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    workers = min(chains, available_cores() if cores is None else cores)
    if jaxpr is not None and has_batched_lapack(jaxpr):
        workers = min(workers, available_cores() - 1)
    return max(workers, 1)


@contextlib.contextmanager
def chain_threads() -> Iterator[None]:
    """Run the chains inside: BLAS libraries (OpenBLAS, MKL, ...) on one thread each, restored on exit.

    Examples
    --------
    >>> from threadpoolctl import threadpool_info
    >>> with chain_threads():
    ...     threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    >>> len(threads) > 0 and set(threads) == {1}  # NumPy's and SciPy's OpenBLAS at least
    True
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _equations(jaxpr) -> Iterator:
    for eqn in jaxpr.eqns:
        yield eqn
        for param in eqn.params.values():
            for sub in param if isinstance(param, (tuple, list)) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    yield from _equations(inner)
