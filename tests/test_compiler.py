"""Compile modes: the options reach XLA, an XLA without them still compiles, pa.sample takes the mode by name."""

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import posteria as pa
from posteria import compiler


def lowered_sum_of_sines():
    return jax.jit(lambda x: jnp.sin(x).sum()).lower(jnp.ones(3))


def test_fast_compile_options_reach_xla(monkeypatch):
    # A malformed value of a real option must fail inside XLA: the mode's options are passed, not dropped.
    monkeypatch.setitem(compiler.COMPILE_MODES, "fast_compile", {"xla_backend_optimization_level": "high"})
    with pytest.raises(jax.errors.JaxRuntimeError, match="xla_backend_optimization_level"):
        compiler.compile_lowered(lowered_sum_of_sines(), "fast_compile", dtype="float64")


def test_this_xla_knows_every_option_of_every_mode():
    # Else compile_lowered would silently fall back to XLA's defaults and the first fit would slow down.
    for options in compiler.COMPILE_MODES.values():
        lowered_sum_of_sines().compile(compiler_options={**options, **compiler.FLOAT64_OPTIONS})


@pytest.mark.parametrize("mode", sorted(compiler.COMPILE_MODES))
def test_float64_sums_compile_in_one_pass_and_float32_sums_stay_pairwise(mode):
    # XLA:CPU's pairwise split shows as a reduce-window kernel; a renamed pass would bring it back silently.
    def long_sum(dtype):
        with jax.enable_x64(dtype == "float64"):
            x = np.linspace(0.0, 1.0, 1000).astype(dtype)
            compiled = compiler.compile_lowered(jax.jit(jnp.sum).lower(x), mode, dtype=dtype)
            return compiled.as_text(), float(compiled(x))

    text64, sum64 = long_sum("float64")
    text32, sum32 = long_sum("float32")
    assert "reduce-window" not in text64 and "reduce-window" in text32
    assert sum64 == pytest.approx(500.0, rel=1e-14) and sum32 == pytest.approx(500.0, rel=1e-6)


@pytest.mark.parametrize("mode", sorted(compiler.COMPILE_MODES))
def test_float64_sums_stay_in_xla_kernels_where_xla_would_hand_them_to_ynnpack(mode):
    # XLA:CPU's default hands long sums to YNNPACK; float64 ones ran slower there (compiler module docstring).
    with jax.enable_x64(True):
        x = np.linspace(0.0, 1.0, 5000)
        lowered = jax.jit(lambda v: jnp.sum(v * v)).lower(x)
        ours = compiler.compile_lowered(lowered, mode, dtype="float64")
        assert "__ynn_fusion" in lowered.compile().as_text()  # the control: XLA's defaults do use the library
        assert "__ynn_fusion" not in ours.as_text()
        assert float(ours(x)) == pytest.approx(np.sum(x * x), rel=1e-14)


def test_compile_lowered_refuses_an_unknown_dtype():
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32', got 'float16'"):
        compiler.compile_lowered(lowered_sum_of_sines(), "fast_compile", dtype="float16")


def test_an_option_unknown_to_this_xla_falls_back_to_its_defaults(monkeypatch):
    monkeypatch.setitem(compiler.COMPILE_MODES, "fast_compile", {"xla_option_from_the_future": True})
    compiled = compiler.compile_lowered(lowered_sum_of_sines(), "fast_compile", dtype="float64")
    assert float(compiled(jnp.full(3, np.pi / 2))) == pytest.approx(3.0)


def test_sample_refuses_an_unknown_compile_mode_by_name():
    with pa.Model():
        pa.Normal("mu", 0.0, 1.0)
        with pytest.raises(ValueError, match="compile_mode must be one of .*'fast_compile'.*got 'fastest'"):
            pa.sample(10, tune=10, chains=1, compile_mode="fastest", progressbar=False)


def test_both_modes_sample_the_conjugate_posterior():
    # mu ~ N(0, 10^2), y_i ~ N(mu, 1): the posterior of mu is N(sum(y) / (n + 0.01), 1 / (n + 0.01)).
    y = np.array([0.3, 1.2, 0.8, 1.9, 1.1])
    mean, sd = y.sum() / (len(y) + 0.01), (len(y) + 0.01) ** -0.5
    for mode in ("fast_compile", "fast_runtime"):
        with pa.Model():
            mu = pa.Normal("mu", 0.0, 10.0)
            pa.Normal("y", mu, 1.0, observed=y)
            idata = pa.sample(500, tune=500, chains=2, seed=3, compile_mode=mode, progressbar=False)
        draws = idata.posterior["mu"].values
        mcse_mean = float(az.mcse(idata, var_names=["mu"])["mu"])
        mcse_sd = sd / np.sqrt(2 * float(az.ess(idata, var_names=["mu"])["mu"]))  # a Gaussian's sd estimate
        assert idata.attrs["compile_mode"] == mode
        assert abs(draws.mean() - mean) < 4 * mcse_mean
        assert abs(draws.std() - sd) < 4 * mcse_sd


def test_garbage_collection_is_restored_as_it_was_even_after_an_error():
    import gc

    assert gc.isenabled()
    with pytest.raises(RuntimeError), compiler.garbage_collection_paused():
        assert not gc.isenabled()
        raise RuntimeError("tracing failed")
    assert gc.isenabled()
    gc.disable()
    try:
        with compiler.garbage_collection_paused():
            pass
        assert not gc.isenabled()  # the caller had turned it off: it stays off
    finally:
        gc.enable()


def test_the_chain_program_is_traced_and_compiled_with_garbage_collection_paused(monkeypatch):
    import gc

    from posteria.sampling import chain

    collector_states = []

    def recording_compile(lowered, mode, *, dtype):
        collector_states.append(gc.isenabled())
        return compiler.compile_lowered(lowered, mode, dtype=dtype)

    monkeypatch.setattr(chain, "compile_lowered", recording_compile)
    with pa.Model():
        pa.Normal("mu", 0.0, 1.0)
        pa.sample(10, tune=10, chains=1, progressbar=False, compute_convergence_checks=False)
    assert collector_states == [False] and gc.isenabled()
