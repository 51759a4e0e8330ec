"""Mixture and NormalMixture: log density against scipy, draws against moments, supports, bad input."""

import jax
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import logsumexp

import posteria as pa
from posteria.distributions.continuous import StudentT, Uniform
from posteria.distributions.discrete import Poisson
from posteria.distributions.mixture import Mixture, NormalMixture, union_support
from posteria.distributions.positive import Beta, Gamma
from posteria.model.graph import evaluate

jax.config.update("jax_enable_x64", True)

W = np.array([0.3, 0.7])


def scipy_mixture_logpdf(weights, frozen, x):
    return logsumexp([np.log(w) + f.logpdf(x) for w, f in zip(weights, frozen)], axis=0)


def bound(dist):
    return evaluate([dist], {})[0]


def assert_moments(draws, mean, variance, num_mcse=4.0):
    """Sample mean and variance within ``num_mcse`` Monte Carlo standard errors of the truth."""
    n = draws.shape[0]
    centred = draws - draws.mean(axis=0)
    sample_var = centred.var(axis=0)
    mcse_mean = np.sqrt(sample_var / n)
    mcse_var = np.sqrt((np.mean(centred**4, axis=0) - sample_var**2) / n)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < num_mcse * mcse_mean)
    assert np.all(np.abs(sample_var - variance) < num_mcse * mcse_var)


# -- log density ---------------------------------------------------------------------------
CASES = {
    "two normals": (
        lambda: [pa.Normal.dist(-1.0, 1.0), pa.Normal.dist(2.0, 0.5)],
        [st.norm(-1.0, 1.0), st.norm(2.0, 0.5)],
        np.array([-30.0, -3.0, -1.0, 0.0, 0.5, 2.0, 4.0, 30.0]),
    ),
    "normal and student-t": (
        lambda: [pa.Normal.dist(0.0, 1.0), StudentT.dist(nu=3.0, mu=1.0, sigma=2.0)],
        [st.norm(0.0, 1.0), st.t(3.0, 1.0, 2.0)],
        np.array([-50.0, -2.0, 0.0, 1.0, 3.5, 50.0]),
    ),
    "two gammas": (
        lambda: [Gamma.dist(alpha=2.0, beta=1.0), Gamma.dist(alpha=9.0, beta=2.0)],
        [st.gamma(2.0, scale=1.0), st.gamma(9.0, scale=0.5)],
        np.array([1e-8, 0.1, 1.0, 4.5, 10.0, 60.0]),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_logp_matches_scipy_mixture(case):
    make, frozen, x = CASES[case]
    got = np.asarray(pa.logp(Mixture.dist(w=W, comp_dists=make()), x))
    np.testing.assert_allclose(got, scipy_mixture_logpdf(W, frozen, x), rtol=1e-6)


def test_positive_mixture_is_minus_inf_off_support():
    d = Mixture.dist(w=W, comp_dists=CASES["two gammas"][0]())
    assert np.all(np.isneginf(np.asarray(pa.logp(d, np.array([-1.0, -1e-9])))))


def test_discrete_mixture_matches_scipy():
    d = Mixture.dist(w=W, comp_dists=[Poisson.dist(1.0), Poisson.dist(6.0)])
    k = np.arange(0, 15)
    expected = logsumexp([np.log(0.3) + st.poisson(1.0).logpmf(k), np.log(0.7) + st.poisson(6.0).logpmf(k)], axis=0)
    np.testing.assert_allclose(np.asarray(pa.logp(d, k)), expected, rtol=1e-6)


def test_list_and_stacked_components_agree():
    x = np.linspace(-4.0, 6.0, 11)
    listed = Mixture.dist(w=W, comp_dists=[pa.Normal.dist(-1.0, 1.0), pa.Normal.dist(2.0, 0.5)])
    stacked = Mixture.dist(w=W, comp_dists=pa.Normal.dist(mu=[-1.0, 2.0], sigma=[1.0, 0.5]))
    assert listed.shape == stacked.shape == ()
    np.testing.assert_allclose(np.asarray(pa.logp(listed, x)), np.asarray(pa.logp(stacked, x)), rtol=1e-12)


def test_normal_mixture_equals_mixture_of_normals():
    x = np.linspace(-4.0, 6.0, 11)
    mixture = Mixture.dist(w=W, comp_dists=[pa.Normal.dist(-1.0, 1.0), pa.Normal.dist(2.0, 0.5)])
    normal_mixture = NormalMixture.dist(w=W, mu=[-1.0, 2.0], sigma=[1.0, 0.5])
    by_tau = NormalMixture.dist(w=W, mu=[-1.0, 2.0], tau=[1.0, 4.0])
    expected = np.asarray(pa.logp(mixture, x))
    np.testing.assert_allclose(np.asarray(pa.logp(normal_mixture, x)), expected, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(pa.logp(by_tau, x)), expected, rtol=1e-12)


def test_batched_weights_and_components():
    w = np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]])
    mu = np.array([[0.0, 3.0], [1.0, -1.0], [2.0, 2.5]])
    d = Mixture.dist(w=w, comp_dists=pa.Normal.dist(mu=mu, sigma=1.0))
    assert d.shape == (3,)
    x = np.array([0.5, -0.2, 2.2])
    expected = [scipy_mixture_logpdf(w[i], [st.norm(m, 1.0) for m in mu[i]], x[i]) for i in range(3)]
    np.testing.assert_allclose(np.asarray(pa.logp(d, x)), expected, rtol=1e-10)
    assert pa.draw(d, draws=4, random_seed=0).shape == (4, 3)


# -- moments and draws ---------------------------------------------------------------------
def mixture_moments(weights, frozen):
    means = np.array([f.mean() for f in frozen])
    second = np.array([f.var() for f in frozen]) + means**2
    mean = np.dot(weights, means)
    return mean, np.dot(weights, second) - mean**2


@pytest.mark.parametrize("case", ["two normals", "two gammas"])
def test_mean_variance_and_draws(case):
    make, frozen, _ = CASES[case]
    d = Mixture.dist(w=W, comp_dists=make(), shape=2)
    mean, variance = mixture_moments(W, frozen)
    b = bound(d)
    np.testing.assert_allclose(np.asarray(b.mean()), mean, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.variance()), variance, rtol=1e-12)
    draws = pa.draw(d, draws=20_000, random_seed=3)
    assert draws.shape == (20_000, 2)
    assert_moments(draws, mean, variance)


def test_normal_mixture_draws():
    d = NormalMixture.dist(w=[0.2, 0.5, 0.3], mu=[-3.0, 0.0, 4.0], sigma=[0.5, 1.0, 2.0])
    mean, variance = mixture_moments([0.2, 0.5, 0.3], [st.norm(-3, 0.5), st.norm(0, 1), st.norm(4, 2)])
    b = bound(d)
    np.testing.assert_allclose([float(b.mean()), float(b.variance())], [mean, variance], rtol=1e-12)
    assert_moments(pa.draw(d, draws=20_000, random_seed=4), mean, variance)


def test_stacked_draws_pick_the_right_component():
    # well separated components: every draw lies near one of the means, in the weights' proportions
    d = Mixture.dist(w=[0.25, 0.75], comp_dists=pa.Normal.dist(mu=[-100.0, 100.0], sigma=1.0))
    draws = pa.draw(d, draws=20_000, random_seed=5)
    share = np.mean(draws > 0)
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / draws.size)
    assert np.all(np.abs(np.abs(draws) - 100.0) < 6.0)


def test_support_point_is_weighted_component_support_point():
    d = Mixture.dist(w=W, comp_dists=[StudentT.dist(nu=1.0, mu=-2.0), pa.Normal.dist(4.0, 1.0)])
    assert np.isnan(float(bound(d).mean()))  # the t with nu=1 has no mean
    assert float(bound(d).support_point()) == pytest.approx(0.3 * -2.0 + 0.7 * 4.0)


# -- supports and transforms -------------------------------------------------------------------
def test_union_support():
    assert union_support([pa.Normal.dist().family.support] * 2).name == "real"
    positive_and_real = union_support([bound(Gamma.dist(2.0, 1.0)).support, bound(pa.Normal.dist()).support])
    assert positive_and_real.name == "real"
    hull = union_support([bound(Uniform.dist(-1.0, 1.0)).support, bound(Uniform.dist(0.5, 3.0)).support])
    assert (hull.name, float(hull.lower), float(hull.upper)) == ("interval", -1.0, 3.0)
    half_line = union_support([bound(Gamma.dist(2.0, 1.0)).support, bound(Beta.dist(2.0, 2.0)).support])
    assert half_line.name == "greater_than_eq" and float(half_line.lower) == 0.0


def test_in_model_transforms_and_gradient():
    data = np.r_[np.full(5, -1.0), np.full(5, 3.0)]
    with pa.Model() as model:
        mu = pa.Normal("mu", 0.0, 5.0, shape=2)
        sigma = pa.HalfNormal("sigma", 1.0)
        Mixture("y", w=W, comp_dists=[pa.Normal.dist(mu[0], sigma), pa.Normal.dist(mu[1], sigma)], observed=data)
        pos = Mixture("pos", w=W, comp_dists=[Gamma.dist(2.0, 1.0), Gamma.dist(9.0, 2.0)], shape=3)
        Mixture("mix", w=W, comp_dists=[pa.Normal.dist(0.0, 1.0), Gamma.dist(2.0, 1.0)])
        NormalMixture("z", w=W, mu=mu, sigma=sigma, observed=data)
    assert pos.shape == (3,)
    ld = model.compile_logp()
    assert [s.value_name for s in ld.slots] == ["mu", "sigma_log__", "pos_log__", "mix"]
    point = model.initial_point()
    np.testing.assert_allclose(point["pos_log__"], np.log(0.3 * 2.0 + 0.7 * 4.5))
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    # the observed terms are the scipy mixtures at the initial point (mu = 0, sigma = HalfNormal mean)
    s = float(np.exp(point["sigma_log__"]))
    terms = model.point_logps(point)
    expected = scipy_mixture_logpdf(W, [st.norm(0.0, s)] * 2, data).sum()
    assert terms["y"] == pytest.approx(expected, rel=1e-10)
    assert terms["z"] == pytest.approx(expected, rel=1e-10)


def test_mixture_observed_shape_and_batch():
    with pa.Model():
        y = Mixture("y", w=W, comp_dists=pa.Normal.dist(mu=[0.0, 5.0], sigma=1.0), observed=np.zeros((4, 3)))
        x = NormalMixture("x", w=W, mu=[0.0, 5.0], sigma=1.0, shape=(2, 5))
    assert y.shape == (4, 3) and x.shape == (2, 5)


# -- bad input -----------------------------------------------------------------------------------
def test_weights_not_summing_to_one_name_the_variable():
    with pa.Model():
        with pytest.raises(pa.ModelError, match="w of bad"):
            Mixture("bad", w=[0.3, 0.3], comp_dists=[pa.Normal.dist(), pa.Normal.dist()])
        with pytest.raises(pa.ModelError, match="w of bad2"):
            NormalMixture("bad2", w=[-0.5, 1.5], mu=[0.0, 1.0], sigma=1.0)
        with pytest.raises(pa.ModelError, match="sigma of bad3"):
            NormalMixture("bad3", w=W, mu=[0.0, 1.0], sigma=[1.0, -1.0])
        batched = np.array([[0.5, 0.5], [0.3, 0.3], [0.2, 0.8]])
        with pytest.raises(pa.ModelError, match=r"w of bad4 .* got \[0.3 0.3\] at index \(1,\)"):
            Mixture("bad4", w=batched, comp_dists=pa.Normal.dist(mu=[0.0, 1.0]))


def test_discrete_and_continuous_components_are_refused():
    with pa.Model():
        with pytest.raises(pa.ModelError, match="comp_dists of y: a mixture cannot combine discrete and continuous"):
            Mixture("y", w=W, comp_dists=[pa.Normal.dist(), Poisson.dist(3.0)])


def test_bad_components_and_shapes():
    with pa.Model() as model:
        x = pa.Normal("x")
        with pytest.raises(TypeError, match="comp_dists of a must be unnamed distributions made with .dist()"):
            Mixture("a", w=W, comp_dists=[x, pa.Normal.dist()])
        with pytest.raises(pa.ModelError, match="w has 2 weights but 3 components"):
            Mixture("b", w=W, comp_dists=[pa.Normal.dist()] * 3)
        with pytest.raises(pa.ModelError, match="last axis must index the components"):
            Mixture("c", w=W, comp_dists=pa.Normal.dist())
        with pytest.raises(pa.ModelError, match="w of d must be a vector"):
            Mixture("d", w=1.0, comp_dists=[pa.Normal.dist()])
        with pytest.raises(pa.ModelError, match="shape mismatch in e"):
            NormalMixture("e", w=W, mu=[0.0, 1.0, 2.0], sigma=1.0)
        with pytest.raises(pa.ModelError, match="shape mismatch in f"):
            Mixture("f", w=W, comp_dists=[pa.Normal.dist(shape=3), pa.Normal.dist()], shape=4)
    assert list(model.named_vars) == ["x"]
