"""ArviZ InferenceData in and out: the only place that knows ArviZ's names."""

from posteria.io.inference_data import (
    SAMPLE_STAT_NAMES,
    extend,
    get_group,
    get_sample_stats,
    to_inference_data,
)

__all__ = ["SAMPLE_STAT_NAMES", "extend", "get_group", "get_sample_stats", "to_inference_data"]
