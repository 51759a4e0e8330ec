"""The persistent compilation cache: on by default, configurable, off with one setting."""

import json
import os
import subprocess
import sys

import posteria as pa

# A fresh process fits a small model and reports the cache directory and JAX's cache-hit events.
SCRIPT = """
import json, jax, numpy as np
hits = []
jax.monitoring.register_event_listener(lambda name, **kw: hits.append(name) if name.endswith("cache_hits") else None)
import posteria as pa
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
with pa.Model():
    mu = pa.Normal("mu", 0.0, 1.0)
    pa.Normal("y", mu, 1.0, observed=np.array([0.1, 0.4]))
    idata = pa.sample(50, tune=50, chains=1, seed=1, compute_convergence_checks=False)
print(json.dumps({"dir": pa.compilation_cache_dir(), "hits": len(hits), "mu": float(idata.posterior["mu"].sum())}))
"""


def fit_in_fresh_process(env_setting):
    env = {k: v for k, v in os.environ.items() if k not in ("POSTERIA_COMPILATION_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    env.update(env_setting)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_loads_the_compiled_sampler_from_the_cache(tmp_path):
    first = fit_in_fresh_process({"POSTERIA_COMPILATION_CACHE": str(tmp_path)})
    second = fit_in_fresh_process({"POSTERIA_COMPILATION_CACHE": str(tmp_path)})
    assert first["dir"] == second["dir"] == str(tmp_path)
    assert first["hits"] == 0 and second["hits"] >= 1  # the chain program (progress bar on) came from disk
    assert first["mu"] == second["mu"]


def test_cache_is_off_with_one_setting_and_defaults_to_the_user_cache_dir(tmp_path):
    assert fit_in_fresh_process({"POSTERIA_COMPILATION_CACHE": "off"})["dir"] is None
    default = fit_in_fresh_process({"XDG_CACHE_HOME": str(tmp_path)})["dir"]
    assert default == str(tmp_path / "posteria" / "jax")


def test_set_compilation_cache_switches_at_run_time(tmp_path):
    previous = pa.compilation_cache_dir()
    try:
        assert pa.set_compilation_cache(tmp_path / "here") == str(tmp_path / "here")
        assert (tmp_path / "here").is_dir()
        assert pa.set_compilation_cache(None) is None
    finally:
        pa.set_compilation_cache(previous)
