"""Multivariate families: MvNormal, Dirichlet, Multinomial, LKJCorr, LKJCholeskyCov.

Log densities against scipy.stats, the LKJ normalising constant against
numerical integration, the LKJCholeskyCov Jacobian against autodiff, draws
against moments (within Monte Carlo standard errors), and the model's log
density over the unconstrained space against an importance-sampling estimate
of its total mass (1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import posteria as pa
from posteria.distributions import lkj
from posteria.distributions.lkj import LKJCholeskyCov, LKJCorr, expand_packed_triangular
from posteria.distributions.multivariate import Dirichlet, Multinomial, MvNormal
from posteria.model.graph import evaluate

jax.config.update("jax_enable_x64", True)

COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])
MU = np.array([0.5, -1.0, 2.0])


def _bound(dist):
    return evaluate([dist], {})[0]


def _assert_within_mcse(draws, mean, num_mcse=4.0):
    """Each column's sample mean within ``num_mcse`` standard errors of ``mean``."""
    draws = np.asarray(draws, dtype=float).reshape(len(draws), -1)
    mcse = draws.std(0, ddof=1) / np.sqrt(len(draws))
    error = np.abs(draws.mean(0) - np.ravel(mean))
    assert np.all(error <= num_mcse * mcse + 1e-12), (draws.mean(0), mean, mcse)


def _assert_moments(draws, mean, variance):
    """Sample means and variances within 4 MCSE (the variance's MCSE from the fourth moment)."""
    draws = np.asarray(draws, dtype=float)
    centred = draws - draws.mean(0)
    _assert_within_mcse(draws, mean)
    _assert_within_mcse(centred**2 * len(draws) / (len(draws) - 1), variance)


def _unconstrained_mass(model, jacobian=True, num_draws=100_000, scale=1.5, seed=0):
    """Importance-sampling estimate (and its standard error) of the integral of exp(logdensity) over theta.

    The proposal is a product of Student-t(4) with ``scale``: heavier tails than any density here.
    """
    ld = model.compile_logp(jacobian=jacobian)
    proposal = stats.t(df=4, scale=scale)
    theta = proposal.rvs(size=(num_draws, ld.size), random_state=np.random.default_rng(seed))
    log_target = np.asarray(jax.jit(jax.vmap(lambda t: ld.logdensity_fn(t, ld.data())))(theta))
    weights = np.exp(log_target - proposal.logpdf(theta).sum(1))
    return weights.mean(), weights.std(ddof=1) / np.sqrt(num_draws)


# -- MvNormal -----------------------------------------------------------------------
@pytest.mark.parametrize("form", ["cov", "tau", "chol", "chol_upper"])
def test_mvnormal_logp_matches_scipy_for_each_parametrisation(form):
    chol = np.linalg.cholesky(COV)
    given = {
        "cov": {"cov": COV},
        "tau": {"tau": np.linalg.inv(COV)},
        "chol": {"chol": chol},
        "chol_upper": {"chol": chol.T, "lower": False},
    }[form]
    values = np.random.default_rng(1).normal(size=(7, 3)) * 3.0
    expected = stats.multivariate_normal(MU, COV).logpdf(values)
    np.testing.assert_allclose(pa.logp(MvNormal.dist(mu=MU, **given), values), expected, rtol=1e-10)


def test_mvnormal_batch_shapes():
    mu = np.arange(6.0).reshape(3, 2)
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    dist = MvNormal.dist(mu=mu, cov=cov)
    assert dist.shape == (3, 2)
    values = np.random.default_rng(2).normal(size=(5, 3, 2))
    logp = np.asarray(pa.logp(dist, values))
    assert logp.shape == (5, 3)
    expected = [[stats.multivariate_normal(mu[j], cov).logpdf(values[i, j]) for j in range(3)] for i in range(5)]
    np.testing.assert_allclose(logp, expected, rtol=1e-10)
    # a batch of covariances with one mean, and a scalar mean broadcast over the rows
    covs = np.stack([cov, 2.0 * cov, np.eye(2)])
    batched = MvNormal.dist(mu=np.zeros(2), cov=covs)
    assert batched.shape == (3, 2) and MvNormal.dist(mu=0.0, cov=cov).shape == (2,)
    expected = [stats.multivariate_normal(np.zeros(2), c).logpdf(values[0, j]) for j, c in enumerate(covs)]
    np.testing.assert_allclose(pa.logp(batched, values[0]), expected, rtol=1e-10)
    assert MvNormal.dist(mu=0.0, cov=cov, shape=(4, 2)).shape == (4, 2)
    with pytest.raises(ValueError, match="shape mismatch"):
        MvNormal.dist(mu=np.zeros(3), cov=cov)


def test_mvnormal_draws_match_mean_and_covariance():
    dist = MvNormal.dist(mu=MU, cov=COV)
    draws = pa.draw(dist, draws=20000, random_seed=3)
    assert draws.shape == (20000, 3)
    _assert_within_mcse(draws, MU)
    centred = draws - MU
    products = centred[:, :, None] * centred[:, None, :]
    _assert_within_mcse(products, COV)
    bound = _bound(dist)
    np.testing.assert_allclose(bound.mean(), MU)
    np.testing.assert_allclose(bound.variance(), np.diag(COV), rtol=1e-12)


@pytest.mark.parametrize(
    "given, message",
    [
        ({"cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "cov of y must be a symmetric positive-definite matrix"),
        ({"cov": np.array([[1.0, 0.5], [0.0, 1.0]])}, "cov of y must be a symmetric positive-definite matrix"),
        ({"tau": -np.eye(2)}, "tau of y must be a symmetric positive-definite matrix"),
        ({"chol": np.array([[-1.0, 0.0], [0.5, 1.0]])}, "chol of y must be"),
        ({"cov": np.ones(2)}, "cov of y must be a square matrix"),
    ],
)
def test_mvnormal_bad_matrices_raise_naming_the_variable(given, message):
    with pa.Model():
        with pytest.raises(ValueError, match=message):
            MvNormal("y", mu=np.zeros(2), **given)


def test_mvnormal_needs_exactly_one_matrix():
    with pa.Model():
        with pytest.raises(TypeError, match="exactly one of cov, tau and chol"):
            MvNormal("y", mu=np.zeros(2))
        with pytest.raises(TypeError, match="exactly one of cov, tau and chol"):
            MvNormal("y", mu=np.zeros(2), cov=np.eye(2), tau=np.eye(2))


def test_mvnormal_with_a_covariance_built_from_variables():
    """A GP-like kernel from free variables: factorised inside the log density, finite gradient."""
    x = np.linspace(0.0, 1.0, 5)
    squared_distance = (x[:, None] - x[None, :]) ** 2
    observed = np.sin(4 * x)
    with pa.Model() as model:
        amplitude = pa.HalfNormal("amplitude", 1.0)
        length = pa.HalfNormal("length", 1.0)
        kernel = amplitude**2 * pa.math.exp(-0.5 * squared_distance / length**2) + 1e-6 * np.eye(5)
        MvNormal("f", mu=0.0, cov=kernel, observed=observed)
        latent = MvNormal("latent", mu=np.zeros((2, 5)), cov=kernel)
    assert latent.shape == (2, 5)
    ld = model.compile_logp()
    assert [slot.value_name for slot in ld.slots] == ["amplitude_log__", "length_log__", "latent"]
    point = model.initial_point()
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    a, ell = np.exp(point["amplitude_log__"]), np.exp(point["length_log__"])
    cov = a**2 * np.exp(-0.5 * squared_distance / ell**2) + 1e-6 * np.eye(5)
    terms = model.point_logps(point)
    np.testing.assert_allclose(terms["f"], stats.multivariate_normal(np.zeros(5), cov).logpdf(observed), rtol=1e-8)


# -- Dirichlet ----------------------------------------------------------------------
@pytest.mark.parametrize("a", [[1.0, 1.0, 1.0], [0.3, 2.0, 5.0], [40.0, 0.8]])
def test_dirichlet_logp_matches_scipy(a):
    a = np.array(a)
    values = stats.dirichlet(a).rvs(size=6, random_state=4)
    values = np.clip(values, 1e-12, None)
    values /= values.sum(1, keepdims=True)
    expected = [stats.dirichlet(a).logpdf(v) for v in values]
    np.testing.assert_allclose(pa.logp(Dirichlet.dist(a=a), values), expected, rtol=1e-8)
    outside = np.stack([np.full(len(a), 0.6), np.r_[-0.1, np.full(len(a) - 1, 1.1 / (len(a) - 1))]])
    assert np.all(np.asarray(pa.logp(Dirichlet.dist(a=a), outside)) == -np.inf)


def test_dirichlet_draws_and_moments():
    a = np.array([[0.5, 1.0, 3.0], [2.0, 2.0, 2.0]])
    dist = Dirichlet.dist(a=a)
    assert dist.shape == (2, 3)
    bound = _bound(dist)
    for row in range(2):
        np.testing.assert_allclose(bound.mean()[row], stats.dirichlet(a[row]).mean(), rtol=1e-12)
        np.testing.assert_allclose(bound.variance()[row], stats.dirichlet(a[row]).var(), rtol=1e-12)
    draws = pa.draw(dist, draws=20000, random_seed=5)
    np.testing.assert_allclose(draws.sum(-1), 1.0, rtol=1e-12)
    _assert_moments(draws, bound.mean(), bound.variance())


def test_dirichlet_in_model_uses_simplex_transform():
    with pa.Model() as model:
        weights = Dirichlet("w", a=np.ones(4))
        Multinomial("counts", n=10, p=weights, observed=np.array([[1, 2, 3, 4], [0, 0, 5, 5]]))
    ld = model.compile_logp()
    assert [(slot.value_name, slot.unconstrained_shape) for slot in ld.slots] == [("w_simplex__", (3,))]
    value, grad = ld.value_and_grad(ld.unconstrain(model.initial_point()))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_dirichlet_needs_a_vector():
    with pa.Model():
        with pytest.raises(ValueError, match="a of w must be a vector"):
            Dirichlet("w", a=1.0)
        with pytest.raises(ValueError, match="a of w must be positive"):
            Dirichlet("w", a=[1.0, -1.0])


# -- Multinomial --------------------------------------------------------------------
def test_multinomial_logp_matches_scipy():
    p = np.array([0.2, 0.0, 0.5, 0.3])
    values = np.array([[10, 0, 0, 0], [3, 0, 4, 3], [0, 0, 0, 10], [2, 1, 4, 3], [5, 0, 5, 1], [-1, 0, 6, 5], [2.5, 0, 4.5, 3]])
    expected = [stats.multinomial(10, p).logpmf(v) if v.sum() == 10 and np.all(v == np.floor(v)) and np.all(v >= 0) else -np.inf
                for v in values]
    np.testing.assert_allclose(pa.logp(Multinomial.dist(n=10, p=p), values), expected, rtol=1e-10)


def test_multinomial_batch_draws_and_moments():
    n = np.array([5, 40])
    p = np.array([0.1, 0.6, 0.3])
    dist = Multinomial.dist(n=n, p=p)
    assert dist.shape == (2, 3)
    bound = _bound(dist)
    np.testing.assert_allclose(bound.mean(), n[:, None] * p)
    np.testing.assert_allclose(bound.variance(), n[:, None] * p * (1 - p))
    draws = pa.draw(dist, draws=20000, random_seed=6)
    assert np.issubdtype(draws.dtype, np.integer) and np.all(draws.sum(-1) == n)
    _assert_moments(draws, bound.mean(), bound.variance())


def test_multinomial_validation():
    with pa.Model():
        with pytest.raises(ValueError, match="p of y must be a probability vector"):
            Multinomial("y", n=3, p=[0.5, 0.6])
        with pytest.raises(ValueError, match="observed data of y lie outside the support"):
            Multinomial("y", n=3, p=[0.5, 0.5], observed=np.array([[1, 2], [2, 2]]))
        with pytest.raises(ValueError, match="p of y must be a vector"):
            Multinomial("y", n=3, p=1.0)


# -- LKJCorr ------------------------------------------------------------------------
def _corr2(r):
    return np.array([[1.0, r], [r, 1.0]])


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0, 7.5])
def test_lkj_corr_n2_is_a_beta_on_the_correlation(eta):
    dist = LKJCorr.dist(n=2, eta=eta)
    density = lambda r: float(np.exp(pa.logp(dist, _corr2(r))))  # noqa: E731
    assert integrate.quad(density, -1.0, 1.0)[0] == pytest.approx(1.0, abs=1e-8)
    for r in [-0.9, 0.0, 0.35]:
        assert density(r) == pytest.approx(stats.beta(eta, eta).pdf((r + 1) / 2) / 2, rel=1e-10)


def test_lkj_corr_n3_normaliser():
    """eta = 1: 1 / volume of the 3 x 3 correlation matrices (pi^2 / 2); eta = 2.5: Monte Carlo over the cube."""
    assert float(np.exp(-pa.logp(LKJCorr.dist(n=3, eta=1.0), np.eye(3)))) == pytest.approx(np.pi**2 / 2, rel=1e-12)
    r = np.random.default_rng(7).uniform(-1.0, 1.0, size=(200_000, 3))
    matrices = np.broadcast_to(np.eye(3), (len(r), 3, 3)).copy()
    matrices[:, [1, 2, 2], [0, 0, 1]] = r
    matrices[:, [0, 0, 1], [1, 2, 2]] = r
    mass = 8.0 * np.exp(np.asarray(pa.logp(LKJCorr.dist(n=3, eta=2.5), matrices)))  # cube volume 8; 0 outside
    assert abs(mass.mean() - 1.0) < 4 * mass.std() / np.sqrt(len(mass))


def test_lkj_corr_draws_have_beta_marginals():
    eta, n = 1.5, 4
    dist = LKJCorr.dist(n=n, eta=eta)
    draws = pa.draw(dist, draws=20000, random_seed=8)
    assert draws.shape == (20000, n, n)
    np.testing.assert_allclose(np.diagonal(draws, axis1=1, axis2=2), 1.0, rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(draws) > 0)
    shape = eta - 1 + n / 2  # each (r + 1) / 2 ~ Beta(shape, shape)
    marginal = stats.beta(shape, shape, loc=-1, scale=2)
    off_diagonal = draws[:, *np.tril_indices(n, -1)]
    _assert_moments(off_diagonal, np.full(6, marginal.mean()), np.full(6, marginal.var()))
    bound = _bound(dist)
    np.testing.assert_allclose(bound.mean(), np.eye(n))
    np.testing.assert_allclose(bound.variance()[np.tril_indices(n, -1)], marginal.var(), rtol=1e-12)


def test_lkj_corr_in_model_integrates_to_one_over_the_unconstrained_space():
    with pa.Model() as model:
        corr = LKJCorr("corr", n=3, eta=2.0)
    assert corr.shape == (3, 3)
    assert [(s.value_name, s.unconstrained_shape) for s in model.compile_logp().slots] == [("corr_corr_matrix__", (3,))]
    mass, mcse = _unconstrained_mass(model)
    assert abs(mass - 1.0) < 4 * mcse and mcse < 0.02


def test_lkj_validation_and_outside_support():
    with pa.Model():
        with pytest.raises(ValueError, match="n of c must be a positive integer, got 2.5"):
            LKJCorr("c", n=2.5, eta=1.0)
        with pytest.raises(ValueError, match="eta of c must be positive"):
            LKJCorr("c", n=2, eta=0.0)
        with pytest.raises(ValueError, match="n of c must be a constant integer"):
            LKJCorr("c", n=pa.Normal("k", 3.0, 1.0), eta=1.0)
        with pytest.raises(ValueError, match="observed data of c lie outside the support"):
            LKJCorr("c", n=2, eta=1.0, observed=_corr2(1.5))
    not_corr = [_corr2(1.2), np.array([[1.0, 0.2], [0.1, 1.0]]), np.array([[2.0, 0.0], [0.0, 1.0]])]
    assert np.all(np.asarray(pa.logp(LKJCorr.dist(n=2, eta=2.0), np.stack(not_corr))) == -np.inf)


# -- LKJCholeskyCov -------------------------------------------------------------------
def _logp_via_autodiff_jacobian(n, eta, sd_dist, stds, corr):
    """log p(L) from the density of (stds, correlations) and the Jacobian of (stds, correlations) -> L, by jax."""
    rows, cols = np.tril_indices(n)
    corr_rows, corr_cols = np.tril_indices(n, -1)

    def to_chol(params):
        s, r = params[:n], params[n:]
        c = jnp.eye(n).at[corr_rows, corr_cols].set(r).at[corr_cols, corr_rows].set(r)
        return jnp.linalg.cholesky(s[:, None] * c * s[None, :])[rows, cols]

    params = jnp.concatenate([stds, corr[corr_rows, corr_cols]])
    log_det = np.linalg.slogdet(np.asarray(jax.jit(jax.jacfwd(to_chol))(params)))[1]
    log_density = float(jnp.sum(pa.logp(sd_dist, stds)) + pa.logp(LKJCorr.dist(n=n, eta=eta), corr))
    chol = np.zeros((n, n))
    chol[rows, cols] = jax.jit(to_chol)(params)
    return log_density - log_det, chol


@pytest.mark.parametrize("n, eta", [(2, 0.7), (3, 2.0), (4, 1.0)])
def test_lkj_cholesky_cov_logp_matches_change_of_variables(n, eta):
    sd_dist = pa.HalfNormal.dist(sigma=np.linspace(0.5, 2.0, n))
    stds = np.linspace(0.3, 1.7, n)
    corr = np.asarray(pa.transforms.CorrMatrix().forward(np.linspace(-1.0, 1.5, n * (n - 1) // 2)))
    expected, chol = _logp_via_autodiff_jacobian(n, eta, sd_dist, stds, corr)
    got = float(pa.logp(LKJCholeskyCov.dist(n=n, eta=eta, sd_dist=sd_dist), chol))
    assert got == pytest.approx(expected, rel=1e-9)


def test_lkj_cholesky_cov_draws():
    """stds follow sd_dist; for n = 2, (r + 1) / 2 ~ Beta(eta, eta); L's moments as computed."""
    eta = 2.0
    sd_dist = pa.HalfNormal.dist(1.3)
    dist = LKJCholeskyCov.dist(n=2, eta=eta, sd_dist=sd_dist)
    draws = pa.draw(dist, draws=20000, random_seed=9)
    assert draws.shape == (20000, 2, 2) and np.all(draws[:, 0, 1] == 0)
    stds = np.sqrt((draws**2).sum(-1))
    half_normal = stats.halfnorm(scale=1.3)
    _assert_moments(stds, np.full(2, half_normal.mean()), np.full(2, half_normal.var()))
    r = draws[:, 1, 0] / stds[:, 1]
    beta = stats.beta(eta, eta, loc=-1, scale=2)
    _assert_moments(r[:, None], [beta.mean()], [beta.var()])
    bound = _bound(dist)
    _assert_moments(draws.reshape(-1, 4), np.ravel(bound.mean()), np.ravel(bound.variance()))


def test_lkj_cholesky_cov_moments_n4():
    dist = LKJCholeskyCov.dist(n=4, eta=0.8, sd_dist=pa.HalfNormal.dist(np.array([0.5, 1.0, 1.5, 2.0])))
    bound = _bound(dist)
    draws = pa.draw(dist, draws=20000, random_seed=10)
    _assert_moments(draws.reshape(-1, 16), np.ravel(bound.mean()), np.ravel(bound.variance()))


def test_lkj_cholesky_cov_in_model():
    data = np.random.default_rng(11).multivariate_normal(np.zeros(3), COV, size=50)
    with pa.Model() as model:
        chol, corr, stds = LKJCholeskyCov("chol", n=3, eta=2.0, sd_dist=pa.HalfNormal.dist(1.0))
        MvNormal("y", mu=np.zeros(3), chol=chol, observed=data)
    assert chol.shape == (3, 3) and corr.shape == (3, 3) and stds.shape == (3,)
    assert [d.name for d in model.deterministics] == ["chol_corr", "chol_stds"]
    ld = model.compile_logp()
    assert [(s.value_name, s.unconstrained_shape) for s in ld.slots] == [("chol_cholesky_cov__", (6,))]
    point = model.initial_point()
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    values = ld.constrained_fn(ld.unconstrain(point), ld.data())
    chol_value = np.asarray(values["chol"])
    cov = chol_value @ chol_value.T
    np.testing.assert_allclose(values["chol_stds"], np.sqrt(np.diag(cov)), rtol=1e-12)
    np.testing.assert_allclose(values["chol_corr"], cov / np.outer(values["chol_stds"], values["chol_stds"]), rtol=1e-12)


def test_lkj_cholesky_cov_in_model_integrates_to_one_over_the_unconstrained_space(monkeypatch):
    def mass_of_model():
        with pa.Model() as model:
            LKJCholeskyCov("chol", n=2, eta=1.5, sd_dist=pa.HalfNormal.dist(1.0), compute_corr=False)
        return _unconstrained_mass(model)

    mass, mcse = mass_of_model()
    assert abs(mass - 1.0) < 4 * mcse and mcse < 0.02
    # the check can fail: a normalising constant off by 10% is detected
    original = lkj._log_normaliser
    monkeypatch.setattr(lkj, "_log_normaliser", lambda n, eta: original(n, eta) + 0.1)
    wrong_mass, wrong_mcse = mass_of_model()
    assert abs(wrong_mass - 1.0) > 4 * wrong_mcse


def test_lkj_cholesky_cov_packed_form_and_arguments():
    with pa.Model() as model:
        packed = LKJCholeskyCov("a", 2.0, 3, pa.HalfNormal.dist(1.0), compute_corr=False)  # PyMC order: eta, n, sd_dist
        _, corr, _ = LKJCholeskyCov("b", n=3, eta=2.0, sd_dist=pa.HalfNormal.dist(1.0), store_in_trace=False)
        with pytest.raises(TypeError, match="sd_dist of c must be an unnamed distribution"):
            LKJCholeskyCov("c", n=3, eta=2.0, sd_dist=pa.HalfNormal("s", 1.0))
        with pytest.raises(ValueError, match=r"sd_dist of d must have shape \(\) or \(..., 3\)"):
            LKJCholeskyCov("d", n=3, eta=2.0, sd_dist=pa.HalfNormal.dist(1.0, shape=2))
    assert packed.shape == (6,) and corr.shape == (3, 3) and model.deterministics == []
    assert model["a"].shape == (3, 3)
    chol = np.array([[1.0, 0.0, 0.0], [2.0, 3.0, 0.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(expand_packed_triangular(3, chol[np.tril_indices(3)]), chol)
    np.testing.assert_array_equal(expand_packed_triangular(3, chol.T[np.triu_indices(3)], lower=False), chol.T)
