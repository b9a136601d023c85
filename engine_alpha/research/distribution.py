"""Where an asset's signals fall, as research measured it: the rollout gate's expected shares.

`research/<SYMBOL>/edge.json` carries `signal_distribution`: the signal model the signals came
from (its identity: name and every parameter), and the number of signals in each
`regime|bucket` cell over every accepted bar (no forward window needed, no half split).
`ops.reports_reader.load_research_distributions` reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from engine_alpha.research.collect import AssetSeries
from engine_alpha.research.edge import N_CELLS, cell_name

__all__ = ["distribution_json", "signal_cells"]


def signal_cells(series: AssetSeries) -> dict[str, int]:
    """Signals per `regime|bucket` cell over the whole series (cells with none left out)."""
    idx = series.signal_idx
    regime = series.regime[idx]
    bucket = series.bucket[idx]
    ok = (regime >= 0) & (bucket >= 0)
    counts = np.bincount(regime[ok] * 10 + bucket[ok], minlength=N_CELLS)
    return {cell_name(key): int(n) for key, n in enumerate(counts) if n}


def distribution_json(cells: Mapping[str, int], model: Mapping[str, Any]) -> Any:
    """The `signal_distribution` block of edge.json (`model`: the identity it is valid for)."""
    return {
        "model": dict(model),
        "signals": sum(cells.values()),
        "cells": dict(cells),
    }
