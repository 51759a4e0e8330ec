"""Distribution families (see :mod:`posteria.distributions.base` for the interface)."""

from posteria import transforms
from posteria.distributions import constraints
from posteria.distributions.base import BoundDistribution, Distribution, draw, logp
from posteria.distributions.continuous import (
    AsymmetricLaplace, Cauchy, ExGaussian, Flat, Gumbel, HalfNormal, Laplace, Logistic, Normal, SkewNormal,
    StudentT, TruncatedNormal, Uniform, VonMises,
)
from posteria.distributions.discrete import (
    Bernoulli, BetaBinomial, Binomial, Categorical, DiscreteUniform, Geometric, NegativeBinomial, Poisson,
    ZeroInflatedBinomial, ZeroInflatedNegativeBinomial, ZeroInflatedPoisson,
)
from posteria.distributions.lkj import LKJCholeskyCov, LKJCorr
from posteria.distributions.mixture import Mixture, NormalMixture
from posteria.distributions.multivariate import Dirichlet, Multinomial, MvNormal
from posteria.distributions.positive import (
    Beta, ChiSquared, Exponential, Gamma, HalfCauchy, HalfFlat, HalfStudentT, InverseGamma, Kumaraswamy,
    LogNormal, Pareto, Wald, Weibull,
)
from posteria.distributions.timeseries import AR, GaussianRandomWalk, RandomWalk

__all__ = [
    "AR", "AsymmetricLaplace", "Bernoulli", "Beta", "BetaBinomial", "Binomial", "BoundDistribution", "Categorical",
    "Cauchy", "ChiSquared", "Dirichlet", "DiscreteUniform", "Distribution", "ExGaussian", "Exponential", "Flat",
    "Gamma", "GaussianRandomWalk", "Geometric", "Gumbel", "HalfCauchy", "HalfFlat", "HalfNormal", "HalfStudentT",
    "InverseGamma", "Kumaraswamy", "LKJCholeskyCov", "LKJCorr", "Laplace", "LogNormal", "Logistic", "Mixture",
    "Multinomial", "MvNormal", "NegativeBinomial", "Normal", "NormalMixture", "Pareto", "Poisson", "RandomWalk",
    "SkewNormal", "StudentT", "TruncatedNormal", "Uniform", "VonMises", "Wald", "Weibull", "ZeroInflatedBinomial",
    "ZeroInflatedNegativeBinomial", "ZeroInflatedPoisson", "constraints", "draw", "logp", "transforms",
]
