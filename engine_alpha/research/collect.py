"""One asset's bars through the daemon's `BarValidator` and a signal model's `update`, as columns.

Refused rows and bars are counted by code and skipped, gaps only counted, as the replay feed does.
A model that raises or breaks the decision contract (`strategy.contract`) stops the asset's
research with `ModelFailedError`, naming the model, the bar time and the problem, as it would stop
the asset in the daemon.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine_alpha.config.models import REGIMES
from engine_alpha.core.formatting import fmt_ts
from engine_alpha.market.bars import Bar
from engine_alpha.market.csv_bars import RowRefusal, read_bars
from engine_alpha.market.validation import BarValidator
from engine_alpha.research.edge import NO_REGIME
from engine_alpha.signals.breakout import BreakoutModel
from engine_alpha.signals.catalog import ModelFactory
from engine_alpha.signals.decision import BarDecision, DecisionColumns
from engine_alpha.strategy.contract import decision_problem, keeps_contract

__all__ = ["AssetSeries", "ModelFailedError", "collect_bars", "collect_columns", "collect_file"]

_REGIME_CODE = {name: code for code, name in enumerate(REGIMES)}
_DIRECTION = {"long": 1, "short": -1}


class ModelFailedError(ValueError):
    """The signal model raised or returned a decision outside the contract."""


@dataclass(slots=True)
class AssetSeries:
    """Accepted bars and the decision at each: `regime` index into REGIMES (-1: warm-up),
    `direction` +1/-1 (0: none), `bucket` 0-9 (-1: none), `confidence` (NaN: none)."""

    symbol: str
    bars: list[Bar]
    ts_ms: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    atr: npt.NDArray[np.float64]
    regime: npt.NDArray[np.int64]
    direction: npt.NDArray[np.int64]
    confidence: npt.NDArray[np.float64]
    bucket: npt.NDArray[np.int64]
    refused: dict[str, int] = field(default_factory=dict)
    missing_bars: int = 0

    @property
    def signal_idx(self) -> npt.NDArray[np.int64]:
        """Indices of the bars that carry a signal."""
        return np.flatnonzero(self.direction != 0).astype(np.int64)


def collect_file(
    path: Path,
    symbol: str,
    timeframe_ms: int,
    model_factory: ModelFactory = BreakoutModel,
    model_name: str = "breakout",
) -> AssetSeries:
    """Read, validate and decide every bar of one CSV file (`ModelFailedError`: model broke)."""
    refused: Counter[str] = Counter()

    def on_refusal(refusal: RowRefusal) -> None:
        refused[refusal.code] += 1

    series = collect_bars(
        read_bars(path, on_refusal=on_refusal, symbol=symbol),
        symbol,
        timeframe_ms,
        model_factory,
        model_name,
    )
    for code, count in refused.items():
        series.refused[code] = series.refused.get(code, 0) + count
    return series


def collect_bars(
    bars: Iterable[Bar],
    symbol: str,
    timeframe_ms: int,
    model_factory: ModelFactory = BreakoutModel,
    model_name: str = "breakout",
) -> AssetSeries:
    """Validate and decide `bars` in order; refused bars are counted by code and skipped."""
    validator = BarValidator(symbol, timeframe_ms)
    update = model_factory().update
    refused: Counter[str] = Counter()
    missing = 0
    kept: list[Bar] = []
    decisions: list[BarDecision] = []
    for bar in bars:
        gap = validator.missing_before(bar)
        code = validator.check(bar)
        if code is not None:
            refused[code] += 1
            continue
        missing += gap
        try:
            decision = update(bar)
        except Exception as exc:  # noqa: BLE001 - a model's fault is reported, named
            raise _failed(model_name, symbol, bar, f"raised {exc!r}") from None
        if not keeps_contract(decision, bar):
            problem = decision_problem(decision, bar) or "invalid decision"
            raise _failed(model_name, symbol, bar, problem)
        kept.append(bar)
        decisions.append(decision)
    return _columns(symbol, kept, decisions, dict(refused), missing)


def collect_columns(
    bars: list[Bar], symbol: str, timeframe_ms: int, columns: DecisionColumns, model_name: str
) -> AssetSeries:
    """The series of already validated `bars` (e.g. a sweep's, validated once when loaded)
    with their decisions from a model's batch path, checked against the decision contract as
    `collect_bars` checks each decision (`ModelFailedError` naming the first bad bar)."""
    if len(columns.atr) != len(bars):
        raise ModelFailedError(
            f"signal model {model_name!r} on {symbol}: {len(columns.atr)} decisions "
            f"for {len(bars)} bars"
        )
    signal = columns.direction != 0
    conf = np.where(signal, columns.confidence, 0.0)
    bad = (
        ~np.isfinite(columns.atr)
        | (columns.atr < 0.0)
        | (columns.regime < NO_REGIME)
        | (columns.regime >= len(REGIMES))
        | (np.abs(columns.direction) > 1)
        | (signal & ((columns.regime == NO_REGIME) | ~(conf >= 0.0) | ~(conf <= 1.0)))
        | (signal & (columns.bucket != np.minimum(9, np.floor(conf * 10.0)).astype(np.int64)))
        | (~signal & ((columns.bucket != -1) | ~np.isnan(columns.confidence)))
    )
    if bad.any():
        bar = bars[int(np.argmax(bad))]
        raise _failed(model_name, symbol, bar, "batch decision breaks the contract")
    ts = np.array([b.ts_ms for b in bars], dtype=np.int64)
    gaps = int(np.sum(np.diff(ts) // timeframe_ms - 1)) if len(ts) > 1 else 0
    return AssetSeries(
        symbol=symbol,
        bars=bars,
        ts_ms=ts,
        open=np.array([b.open for b in bars], dtype=np.float64),
        close=np.array([b.close for b in bars], dtype=np.float64),
        atr=columns.atr,
        regime=columns.regime,
        direction=columns.direction,
        confidence=columns.confidence,
        bucket=columns.bucket,
        missing_bars=gaps,
    )


def _failed(model: str, symbol: str, bar: Bar, problem: str) -> ModelFailedError:
    when = fmt_ts(bar.ts_ms)
    return ModelFailedError(
        f"signal model {model!r} failed on {symbol} at bar {when} UTC: {problem}"
    )


def _columns(
    symbol: str, bars: list[Bar], decisions: list[BarDecision], refused: dict[str, int], gaps: int
) -> AssetSeries:
    """The series' numpy columns from its bars and their decisions."""
    return AssetSeries(
        symbol=symbol,
        bars=bars,
        ts_ms=np.array([b.ts_ms for b in bars], dtype=np.int64),
        open=np.array([b.open for b in bars], dtype=np.float64),
        close=np.array([b.close for b in bars], dtype=np.float64),
        atr=np.array([d.atr for d in decisions], dtype=np.float64),
        regime=np.array(
            [NO_REGIME if d.regime is None else _REGIME_CODE[d.regime] for d in decisions],
            dtype=np.int64,
        ),
        direction=np.array(
            [0 if d.direction is None else _DIRECTION[d.direction] for d in decisions],
            dtype=np.int64,
        ),
        confidence=np.array(
            [np.nan if d.confidence is None else d.confidence for d in decisions],
            dtype=np.float64,
        ),
        bucket=np.array([-1 if d.bucket is None else d.bucket for d in decisions], dtype=np.int64),
        refused=refused,
        missing_bars=gaps,
    )
