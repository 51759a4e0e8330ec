"""Conversion of posteria's draws to ArviZ InferenceData, and back to arrays.

This is the one module that knows ArviZ's names for sampler statistics
(``lp``, ``diverging``, ``n_steps`` ...) and the one adapter between ArviZ
0.x (:class:`arviz.InferenceData`, Python 3.11) and ArviZ 1.x
(:class:`xarray.DataTree` built by ``arviz_base``, Python >= 3.12). The rest
of posteria hands in and reads back plain dicts of numpy arrays in its own
vocabulary (``logdensity``, ``is_divergent``, ``num_integration_steps`` ...).

Per-chain sampler state that is not indexed by draw (the step size found by
warmup, shape ``(chain,)``; the inverse mass matrix, ``(chain, n)`` or
``(chain, n, n)``) is stored in ``sample_stats`` as a variable with dims
``("chain", "<name>_dim_0", ...)`` and no ``draw`` dim: ArviZ keeps it,
writes it to netCDF and reads it back, and its diagnostics read only the
per-draw stats they need (``energy``, ``diverging``).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

__all__ = ["SAMPLE_STAT_NAMES", "extend", "get_group", "get_sample_stats", "to_inference_data"]

#: posteria's name of each per-draw sampler statistic -> ArviZ's name.
SAMPLE_STAT_NAMES: dict[str, str] = {
    "logdensity": "lp",
    "is_divergent": "diverging",
    "num_integration_steps": "n_steps",
    "tree_depth": "tree_depth",
    "acceptance_rate": "acceptance_rate",
    "energy": "energy",
    "step_size": "step_size",
    "max_energy_error": "max_energy_error",
    "reached_max_treedepth": "reached_max_treedepth",
}
_POSTERIA_STAT_NAMES = {arviz: posteria for posteria, arviz in SAMPLE_STAT_NAMES.items()}

_IS_ARVIZ_1 = int(az.__version__.split(".")[0]) >= 1
_SAMPLE_DIMS = ("chain", "draw")
_STATS_GROUPS = ("sample_stats", "warmup_sample_stats")

InferenceData = Any  # az.InferenceData on ArviZ 0.x, xarray.DataTree on ArviZ 1.x


def _posteria_attrs() -> dict[str, str]:
    try:
        version = importlib.metadata.version("posteria")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        version = "unknown"
    return {"inference_library": "posteria", "inference_library_version": version}


# --- the ArviZ 0.x / 1.x adapter: three small functions ------------------------------


def _dict_to_dataset(data, *, sample_dims, coords, dims, attrs, skip_event_dims) -> xr.Dataset:
    if _IS_ARVIZ_1:
        import arviz_base

        return arviz_base.dict_to_dataset(
            data,
            attrs=attrs,
            coords=coords,
            dims=dims,
            sample_dims=list(_SAMPLE_DIMS) if sample_dims else [],
            skip_event_dims=skip_event_dims,
        )
    return az.dict_to_dataset(
        data,
        attrs=attrs,
        coords=coords,
        dims=dims,
        default_dims=None if sample_dims else [],
        skip_event_dims=skip_event_dims,
    )


def _container(groups: Mapping[str, xr.Dataset], attrs: dict) -> InferenceData:
    if _IS_ARVIZ_1:
        tree = xr.DataTree.from_dict(dict(groups))
        tree.attrs = dict(attrs)
        return tree
    return az.InferenceData(attrs=dict(attrs), **groups)


def _groups(idata: InferenceData) -> dict[str, xr.Dataset]:
    if _IS_ARVIZ_1:
        return {name: node.to_dataset() for name, node in idata.children.items()}
    return {name: idata[name] for name in idata.groups()}


# --------------------------------------------------------------------------------------


def _as_arrays(data: Mapping[str, Any], *, sample_dims: bool) -> dict:
    arrays = {name: np.asarray(value) for name, value in data.items()}
    if sample_dims:
        for name, value in arrays.items():
            if value.ndim < 2:
                raise ValueError(
                    f"variable {name!r} must have leading (chain, draw) axes, "
                    f"got shape {value.shape}"
                )
    return arrays


def _reference_shape(stats: Mapping[str, np.ndarray], fallback):
    """(chain, draw) of a stats group: ``fallback``, else a known per-draw stat's."""
    if fallback is not None:
        return tuple(fallback)
    for name, value in stats.items():
        if name in SAMPLE_STAT_NAMES and value.ndim >= 2:
            return value.shape[:2]
    return None


def _per_chain_array(name, value, dims, coords) -> xr.DataArray:
    event_dims = list(dims) if dims else [f"{name}_dim_{i}" for i in range(value.ndim - 1)]
    if len(event_dims) != value.ndim - 1:
        raise ValueError(f"dims {dims} of {name!r} do not match its shape {value.shape}")
    all_dims = ["chain", *event_dims]
    var_coords = {
        dim: np.asarray(coords[dim]) if dim in coords else np.arange(size)
        for dim, size in zip(all_dims, value.shape, strict=True)
    }
    return xr.DataArray(value, dims=all_dims, coords=var_coords)


def _stats_dataset(data, *, reference_shape, dims, coords, attrs) -> xr.Dataset:
    """Rename stats to ArviZ's names; keep per-chain state under its own dims.

    A stat is per chain when ``dims[name]`` starts with ``"chain"``, else when
    its leading axes are not ``reference_shape`` (chain, draw) but its first
    axis has the chain count; a stat of :data:`SAMPLE_STAT_NAMES` can only be
    per chain as a 1-d ``(chain,)`` array (e.g. the step size warmup chose).
    """
    arrays = {name: np.asarray(value) for name, value in data.items()}
    reference_shape = _reference_shape(arrays, reference_shape)
    dims = {SAMPLE_STAT_NAMES.get(name, name): value for name, value in dims.items()}
    per_draw, per_chain = {}, {}
    for name, value in arrays.items():
        arviz_name = SAMPLE_STAT_NAMES.get(name, name)
        named = list(dims.get(arviz_name, []))
        if named[:1] == ["chain"]:
            per_chain[arviz_name] = _per_chain_array(arviz_name, value, named[1:], coords)
        elif value.ndim >= 2 and reference_shape in (None, value.shape[:2]):
            per_draw[arviz_name] = value
        elif (
            reference_shape
            and value.shape[:1] == reference_shape[:1]
            and (name not in SAMPLE_STAT_NAMES or value.ndim == 1)
        ):
            per_chain[arviz_name] = _per_chain_array(arviz_name, value, named, coords)
        else:
            raise ValueError(
                f"variable {name!r} has shape {value.shape}: expected leading "
                "(chain, draw) axes"
                + (f" = {reference_shape}" if reference_shape else "")
                + ("" if name in SAMPLE_STAT_NAMES else " or a per-chain first axis")
            )
    dataset = _dict_to_dataset(
        per_draw, sample_dims=True, coords=coords, dims=dims, attrs=attrs, skip_event_dims=False
    )
    return dataset.assign(per_chain) if per_chain else dataset


def _group_dataset(group, data, *, reference_shape, dims, coords, attrs) -> xr.Dataset:
    try:
        if group in _STATS_GROUPS:
            return _stats_dataset(
                data,
                # warmup has its own number of draws: found from its per-draw stats
                reference_shape=reference_shape if group == "sample_stats" else None,
                dims=dims,
                coords=coords,
                attrs=attrs,
            )
        sample_dims = not group.endswith("_data")
        return _dict_to_dataset(
            _as_arrays(data, sample_dims=sample_dims),
            sample_dims=sample_dims,
            coords=coords,
            dims=dims,
            attrs=attrs,
            skip_event_dims=group == "log_likelihood",
        )
    except ValueError as err:
        raise ValueError(f"cannot build the {group} group: {err}") from err


def to_inference_data(
    *,
    posterior: Mapping[str, np.ndarray] | None = None,
    sample_stats: Mapping[str, np.ndarray] | None = None,
    log_likelihood: Mapping[str, np.ndarray] | None = None,
    prior: Mapping[str, np.ndarray] | None = None,
    prior_predictive: Mapping[str, np.ndarray] | None = None,
    posterior_predictive: Mapping[str, np.ndarray] | None = None,
    observed_data: Mapping[str, np.ndarray] | None = None,
    constant_data: Mapping[str, np.ndarray] | None = None,
    warmup_sample_stats: Mapping[str, np.ndarray] | None = None,
    dims: Mapping[str, list[str]] | None = None,
    coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> InferenceData:
    """Build ArviZ InferenceData from dicts of numpy arrays.

    Parameters
    ----------
    posterior, log_likelihood, prior, prior_predictive, posterior_predictive : dict, optional
        Variable name -> array of shape ``(chain, draw, *shape)``.
    sample_stats, warmup_sample_stats : dict, optional
        Sampler statistics in posteria's vocabulary, renamed to ArviZ's through
        :data:`SAMPLE_STAT_NAMES` (``logdensity`` -> ``lp``, ``is_divergent`` ->
        ``diverging``, ``num_integration_steps`` -> ``n_steps`` ...); unknown
        names pass through. Arrays with leading ``(chain, draw)`` axes are per
        draw; arrays whose first axis is the chain but not followed by the draw
        axis (warmup's final step size, the inverse mass matrix) are stored per
        chain with dims ``("chain", "<name>_dim_0", ...)``. Give
        ``dims[name] = ["chain", ...]`` to mark a stat per chain explicitly.
    observed_data, constant_data : dict, optional
        Arrays without chain or draw axes.
    dims : dict, optional
        Variable name -> names of its dims after ``chain`` and ``draw``;
        unnamed dims get ArviZ's default ``<name>_dim_<i>``.
    coords : dict, optional
        Dim name -> coordinate values; dims without coords get ``0..n-1``.
    attrs : dict, optional
        Extra attributes (netCDF-storable: strings, numbers, 1-d arrays) for the
        root and every group, next to ``inference_library="posteria"`` and its
        version.

    Returns
    -------
    InferenceData
        :class:`arviz.InferenceData` on ArviZ 0.x, :class:`xarray.DataTree` on 1.x.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> idata = to_inference_data(
    ...     posterior={"mu": rng.normal(size=(2, 50)), "beta": rng.normal(size=(2, 50, 3))},
    ...     sample_stats={"is_divergent": np.zeros((2, 50), bool), "step_size": np.full(2, 0.5)},
    ...     dims={"beta": ["feature"]},
    ...     coords={"feature": ["a", "b", "c"]},
    ... )
    >>> dict(get_group(idata, "posterior")["beta"].sizes)
    {'chain': 2, 'draw': 50, 'feature': 3}
    >>> get_group(idata, "sample_stats")["step_size"].dims
    ('chain',)
    >>> sorted(get_sample_stats(idata))
    ['is_divergent', 'step_size']
    """
    given = {
        "posterior": posterior,
        "sample_stats": sample_stats,
        "log_likelihood": log_likelihood,
        "prior": prior,
        "prior_predictive": prior_predictive,
        "posterior_predictive": posterior_predictive,
        "observed_data": observed_data,
        "constant_data": constant_data,
        "warmup_sample_stats": warmup_sample_stats,
    }
    all_attrs = {**_posteria_attrs(), **(attrs or {})}
    reference_shape = np.shape(next(iter(posterior.values())))[:2] if posterior else None
    groups = {
        group: _group_dataset(
            group,
            data,
            reference_shape=reference_shape,
            dims=dict(dims or {}),
            coords=dict(coords or {}),
            attrs=all_attrs,
        )
        for group, data in given.items()
        if data is not None
    }
    return _container(groups, all_attrs)


def extend(
    idata: InferenceData,
    group: str,
    data: Mapping[str, np.ndarray],
    dims: Mapping[str, list[str]] | None = None,
    coords: Mapping[str, Any] | None = None,
    in_place: bool = False,
) -> InferenceData:
    """Return a copy of ``idata`` with ``group`` added, or replaced if present.

    With ``in_place=True`` the group is put into ``idata`` itself (as PyMC's
    ``extend_inferencedata``) and ``idata`` is returned.

    Parameters
    ----------
    idata : InferenceData
        Made by :func:`to_inference_data`; it is not modified.
    group : str
        Group name (``"posterior_predictive"``, ``"log_likelihood"`` ...). Groups
        named ``*_data`` have no chain/draw axes; ``sample_stats`` names are
        renamed as in :func:`to_inference_data`.
    data : dict
        Variable name -> array.
    dims, coords : dict, optional
        As in :func:`to_inference_data`.

    Returns
    -------
    InferenceData

    Examples
    --------
    >>> import numpy as np
    >>> idata = to_inference_data(posterior={"mu": np.zeros((2, 10))})
    >>> idata = extend(idata, "posterior_predictive", {"y": np.ones((2, 10, 4))},
    ...                dims={"y": ["obs"]})
    >>> get_group(idata, "posterior_predictive")["y"].dims
    ('chain', 'draw', 'obs')
    """
    groups = _groups(idata)
    attrs = dict(idata.attrs)
    reference_shape = None
    if "posterior" in groups:
        reference_shape = (groups["posterior"].sizes["chain"], groups["posterior"].sizes["draw"])
    groups[group] = _group_dataset(
        group,
        data,
        reference_shape=reference_shape,
        dims=dict(dims or {}),
        coords=dict(coords or {}),
        attrs={**_posteria_attrs(), **attrs},
    )
    if not in_place:
        return _container(groups, attrs)
    if _IS_ARVIZ_1:
        idata[group] = xr.DataTree(groups[group])
    else:
        idata.extend(az.InferenceData(**{group: groups[group]}), join="right")
    return idata


def get_group(idata: InferenceData, group: str) -> xr.Dataset | None:
    """Return one group of ``idata`` as an :class:`xarray.Dataset`, or None if absent.

    Examples
    --------
    >>> import numpy as np
    >>> idata = to_inference_data(posterior={"mu": np.zeros((2, 10))})
    >>> get_group(idata, "posterior")["mu"].shape
    (2, 10)
    >>> get_group(idata, "prior") is None
    True
    """
    return _groups(idata).get(group)


def get_sample_stats(idata: InferenceData, group: str = "sample_stats") -> dict[str, np.ndarray]:
    """Return the sampler statistics as numpy arrays under posteria's names.

    Parameters
    ----------
    idata : InferenceData
    group : {"sample_stats", "warmup_sample_stats"}

    Returns
    -------
    dict of str to ndarray
        Empty when the group is absent. Per-draw stats have shape
        ``(chain, draw, ...)``, per-chain state ``(chain, ...)``.

    Examples
    --------
    >>> import numpy as np
    >>> idata = to_inference_data(sample_stats={"logdensity": np.zeros((2, 10))})
    >>> list(get_group(idata, "sample_stats").data_vars)
    ['lp']
    >>> get_sample_stats(idata)["logdensity"].shape
    (2, 10)
    """
    dataset = get_group(idata, group)
    if dataset is None:
        return {}
    return {
        _POSTERIA_STAT_NAMES.get(name, name): dataset[name].values for name in dataset.data_vars
    }
