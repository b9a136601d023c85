"""One asset's research: edge tables per half, in-sample choices, their significance, the
walk-forward, flags and the proposed tier.

Choices (focus regime, best bucket, best cell) are made in sample; every half reports them.
A tier below 3 needs the focus regime to survive the search (SPA over the regimes searched, at
`alpha`), a positive out-of-sample edge, and, with walk-forward folds, an edge that holds
across them (`walk_forward.WalkForward.holds`). A cell is called an edge when its in-sample
Benjamini-Yekutieli q-value is at most `alpha` and its mean is positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from engine_alpha.config.models import REGIMES, ExecutionSettings, tier_for_edge
from engine_alpha.core.units import HOUR_MS
from engine_alpha.execution.paper_broker import FillCosts, round_trip_pnl_bps
from engine_alpha.research.collect import AssetSeries
from engine_alpha.research.distribution import signal_cells
from engine_alpha.research.edge import (
    N_BUCKETS,
    N_CELLS,
    Summary,
    best_key,
    forward_returns_bps,
    group_summaries,
    round_trip_cost_bps,
)
from engine_alpha.research.folds import FoldScheme, walk_forward_folds
from engine_alpha.research.significance import (
    HalfTests,
    SearchTest,
    asset_rng,
    block_length,
    group_tests,
)
from engine_alpha.research.simulate import EXIT_REASONS, OPEN_AT_END, simulate_trades
from engine_alpha.research.split import DEFAULT_SPLIT, HALVES, Split, half_masks
from engine_alpha.research.walk_forward import WalkForward, walk_forward

__all__ = [
    "FLAG_IS_CI_ZERO",
    "FLAG_OOS_CI_ZERO",
    "FLAG_OOS_EMPTY",
    "FLAG_SIGN_FLIP",
    "REASON_IN_SAMPLE",
    "REASON_NOT_SIGNIFICANT",
    "REASON_SIGN_FLIP",
    "REASON_WALK_FORWARD",
    "AssetResult",
    "HalfTable",
    "ResearchSettings",
    "Selection",
    "TradeTable",
    "analyse",
    "cell_flags",
    "propose_tier",
    "select",
]

FLAG_SIGN_FLIP = "sign_flip"
FLAG_OOS_CI_ZERO = "oos_ci_includes_zero"
FLAG_OOS_EMPTY = "oos_too_few_samples"
FLAG_IS_CI_ZERO = "in_sample_ci_includes_zero"
REASON_IN_SAMPLE = "in_sample_edge"
REASON_SIGN_FLIP = "oos_sign_flip"
REASON_NOT_SIGNIFICANT = "not_significant"
REASON_WALK_FORWARD = "walk_forward_fails"
TESTED_HALVES = ("in_sample", "out_of_sample")


@dataclass(frozen=True, slots=True)
class ResearchSettings:
    """What a research run measures: horizon, split, the minimum group size, the fill model,
    the walk-forward folds (0: none), the bootstrap (replicates, seed) and the level `alpha`
    of every test. `tests=False` (parameter sweeps, which judge points by their walk-forward
    figures) skips the bootstrap, q-values and snooping tests, and with them the tier's
    snooping gate."""

    horizon_bars: int = 4
    split: Split = DEFAULT_SPLIT
    min_samples: int = 30
    execution: ExecutionSettings = field(default_factory=ExecutionSettings)
    timeframe_ms: int = HOUR_MS
    walk_forward: int = 0
    fold_scheme: FoldScheme = "anchored"
    replicates: int = 1_000
    seed: int = 0
    alpha: float = 0.05
    tests: bool = True

    def __post_init__(self) -> None:
        if self.horizon_bars < 1 or self.min_samples < 1:
            raise ValueError("horizon_bars and min_samples must be >= 1")
        if self.walk_forward < 0 or self.replicates < 1:
            raise ValueError("walk_forward must be >= 0 and replicates >= 1")
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")

    @property
    def cost_bps(self) -> float:
        """Round-trip cost taken off every forward return."""
        return round_trip_cost_bps(self.execution.fee_bps, self.execution.slippage_bps)


@dataclass(frozen=True, slots=True)
class TradeTable:
    """Simulated trades of one half: net pnl_bps summaries, exit reasons, trades left open."""

    overall: Summary
    cells: list[Summary]
    exits: dict[str, int]
    open_at_end: int


@dataclass(frozen=True, slots=True)
class HalfTable:
    """One half's forward-return edges (net bps) overall, per regime and per cell, and trades;
    `tests` their block-bootstrap intervals, p- and q-values (None for the whole span)."""

    bars: int
    overall: Summary
    regimes: list[Summary]
    cells: list[Summary]
    trades: TradeTable
    tests: HalfTests | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """In-sample choices: focus regime (index into REGIMES), buckets in it, best selective cell."""

    focus_regime: int | None
    best_bucket: int | None
    preferred_buckets: tuple[int, ...]
    best_cell: int | None


@dataclass(frozen=True, slots=True)
class OosTrades:
    """The walk-forward's out-of-sample trades: in each fold's test window, the simulated
    daemon-exit trades of the regime that fold chose (exit bar times in UTC ms, net bps)."""

    exit_ms: npt.NDArray[np.int64]
    pnl_bps: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class AssetResult:
    """Everything the research says about one asset."""

    symbol: str
    bars: int
    first_ts_ms: int
    last_ts_ms: int
    refused: dict[str, int]
    missing_bars: int
    cutoff_ms: int
    signals: int
    halves: dict[str, HalfTable]
    selection: Selection
    flags: dict[int, tuple[str, ...]]
    asset_flags: tuple[str, ...]
    tier: int
    tier_reason: str
    edge_bps: float | None
    signal_cells: dict[str, int] = field(default_factory=dict)
    search: dict[str, SearchTest] = field(default_factory=dict)
    edges: tuple[int, ...] = ()
    walk_forward: WalkForward | None = None
    oos_trades: OosTrades | None = None

    def focus_edge(self, half: str) -> Summary | None:
        """The asset edge in `half`: its signals in the (in-sample) focus regime."""
        focus = self.selection.focus_regime
        return None if focus is None else self.halves[half].regimes[focus]


def analyse(series: AssetSeries, settings: ResearchSettings, tick_size: float) -> AssetResult:
    """Tabulate, select, flag and propose a tier for one asset's collected series."""
    if not series.bars:
        raise ValueError(f"{series.symbol}: no accepted bars to research")
    ts = series.ts_ms
    first, last = int(ts[0]), int(ts[-1])
    cutoff = settings.split.cutoff(first, last, settings.timeframe_ms)
    halves, wf, oos_trades = _tables(series, settings, tick_size, cutoff)
    ins_tests = halves["in_sample"].tests
    edges: tuple[int, ...] = ()
    if ins_tests is not None:
        edges = called_edges(halves["in_sample"].cells, ins_tests, settings.alpha)
    selection = select(halves["in_sample"], settings.min_samples, edges)
    search: dict[str, SearchTest] = {}
    if ins_tests is not None:
        search = search_tests(halves["in_sample"], ins_tests, selection, settings.min_samples)
    flags = cell_flags(halves["in_sample"].cells, halves["out_of_sample"].cells)
    tier, reason, edge = 3, "no_focus_regime", None
    asset_flags: tuple[str, ...] = ()
    focus = selection.focus_regime
    if focus is not None:
        ins, oos = halves["in_sample"].regimes, halves["out_of_sample"].regimes
        search_p = search["focus_regime"].spa_p if search else 0.0  # untested: no gate
        tier, edge, reason = propose_tier(ins[focus].mean, oos[focus], search_p, wf, settings.alpha)
        asset_flags = cell_flags(ins, oos).get(focus, ())
        if ins[focus].ci_low <= 0.0 <= ins[focus].ci_high:
            asset_flags = (FLAG_IS_CI_ZERO, *asset_flags)
    return AssetResult(
        symbol=series.symbol,
        bars=len(series.bars),
        first_ts_ms=first,
        last_ts_ms=last,
        refused=dict(series.refused),
        missing_bars=series.missing_bars,
        cutoff_ms=cutoff,
        signals=len(series.signal_idx),
        signal_cells=signal_cells(series),
        halves=halves,
        selection=selection,
        flags=flags,
        asset_flags=asset_flags,
        tier=tier,
        tier_reason=reason,
        edge_bps=edge,
        search=search,
        edges=edges,
        walk_forward=wf,
        oos_trades=oos_trades,
    )


def net_forward_returns_bps(
    series: AssetSeries,
    idx: npt.NDArray[np.int64],
    full: npt.NDArray[np.bool_],
    settings: ResearchSettings,
    tick_size: float,
) -> npt.NDArray[np.float64]:
    """Per signal, the forward return as the trader would have filled it: entry at open[i+1],
    exit at close[i+horizon], both through `paper_broker`'s fill and fee functions (NaN where
    the window runs past the data). The same pricing as the daemon's fills, tick rounding too.
    """
    costs = FillCosts(settings.execution.fee_bps, settings.execution.slippage_bps)
    horizon = settings.horizon_bars
    out = np.full(len(idx), np.nan)
    opens, closes, direction = series.open, series.close, series.direction
    for n, i in enumerate(idx.tolist()):
        if full[n]:
            side = "long" if direction[i] > 0 else "short"
            out[n] = round_trip_pnl_bps(
                side, float(opens[i + 1]), float(closes[i + horizon]), costs, tick_size
            )
    return out


def _tables(
    series: AssetSeries, settings: ResearchSettings, tick_size: float, cutoff: int
) -> tuple[dict[str, HalfTable], WalkForward | None, OosTrades | None]:
    """Forward returns and simulated trades of every signal, tabulated per half (with the
    tests of each half), the walk-forward over the same samples and its trades."""
    idx = series.signal_idx
    ts = series.ts_ms
    sign = series.direction[idx].astype(np.float64)
    _, full = forward_returns_bps(series.open, series.close, idx, sign, settings.horizon_bars)
    net = net_forward_returns_bps(series, idx, full, settings, tick_size)
    regime = series.regime[idx]
    cell = regime * N_BUCKETS + series.bucket[idx]
    end = np.minimum(idx + settings.horizon_bars, len(ts) - 1)
    fwd_masks = half_masks(ts[idx], ts[end], cutoff)
    trades = simulate_trades(
        series.bars,
        idx,
        series.direction,
        series.atr,
        settings.execution,
        tick_size=tick_size,
        timeframe_ms=settings.timeframe_ms,
    )
    trade_end = np.append(ts, ts[-1] + settings.timeframe_ms)[trades.exit_idx]
    trade_masks = half_masks(ts[idx], trade_end, cutoff)
    bar_masks = half_masks(ts, ts, cutoff)
    rng = asset_rng(settings.seed, series.symbol)
    out = {}
    for half in HALVES:
        m = fwd_masks[half] & full
        t = trade_masks[half]
        tests = None
        if half in TESTED_HALVES and settings.tests:
            bars = bar_masks[half]
            n_bars = int(np.count_nonzero(bars))
            tests = group_tests(
                idx[m] - int(np.argmax(bars)),
                regime[m],
                cell[m],
                net[m],
                bars=n_bars,
                n_regimes=len(REGIMES),
                n_cells=N_CELLS,
                min_samples=settings.min_samples,
                rng=rng,
                block=block_length(n_bars, settings.horizon_bars),
                replicates=settings.replicates,
            )
        out[half] = HalfTable(
            bars=int(np.count_nonzero(bar_masks[half])),
            overall=group_summaries(np.zeros(int(m.sum()), dtype=np.int64), net[m], 1)[0],
            regimes=group_summaries(regime[m], net[m], len(REGIMES)),
            cells=group_summaries(cell[m], net[m], N_CELLS),
            trades=_trade_table(cell[t], trades.pnl_bps[t], trades.reason[t]),
            tests=tests,
        )
    wf = oos = None
    if settings.walk_forward:
        folds = walk_forward_folds(
            ts, settings.timeframe_ms, settings.walk_forward, settings.fold_scheme
        )
        wf = walk_forward(
            folds,
            settings.fold_scheme,
            start_ts=ts[idx][full],
            end_ts=ts[end][full],
            regime=regime[full],
            cell=cell[full],
            values=net[full],
            n_regimes=len(REGIMES),
            n_cells=N_CELLS,
            min_samples=settings.min_samples,
        )
        closed = trades.reason != OPEN_AT_END
        picked = np.zeros(len(idx), dtype=np.bool_)
        for f in wf.folds:
            if f.focus_regime is not None:
                _, test = f.fold.masks(ts[idx], trade_end)
                picked |= test & closed & (regime == f.focus_regime)
        oos = OosTrades(trade_end[picked], trades.pnl_bps[picked])
    return out, wf, oos


def _trade_table(
    cell: npt.NDArray[np.int64], pnl: npt.NDArray[np.float64], reason: npt.NDArray[np.int64]
) -> TradeTable:
    closed = reason != OPEN_AT_END
    counts = np.bincount(reason[closed], minlength=len(EXIT_REASONS))
    return TradeTable(
        overall=group_summaries(np.zeros(int(closed.sum()), dtype=np.int64), pnl[closed], 1)[0],
        cells=group_summaries(cell[closed], pnl[closed], N_CELLS),
        exits={name: int(counts[code]) for code, name in enumerate(EXIT_REASONS)},
        open_at_end=int(np.count_nonzero(~closed)),
    )


def select(in_sample: HalfTable, min_samples: int, edges: tuple[int, ...]) -> Selection:
    """Focus = best regime; its best bucket; best cell; all >= `min_samples`. The preferred
    buckets are the focus regime's cells called an edge (`edges`)."""
    focus = best_key(in_sample.regimes, min_samples)
    best_cell = best_key(in_sample.cells, min_samples)
    if focus is None:
        return Selection(None, None, (), best_cell)
    in_focus = in_sample.cells[focus * N_BUCKETS : (focus + 1) * N_BUCKETS]
    bucket = best_key(in_focus, min_samples)
    preferred = tuple(b for b in range(N_BUCKETS) if focus * N_BUCKETS + b in edges)
    return Selection(focus, bucket, preferred, best_cell)


def called_edges(cells: list[Summary], tests: HalfTests, alpha: float) -> tuple[int, ...]:
    """Cells whose in-sample BY q-value is at most `alpha` and whose mean is positive."""
    q = tests.cell_q
    return tuple(key for key, s in enumerate(cells) if s.mean > 0.0 and bool(q[key] <= alpha))


def search_tests(
    in_sample: HalfTable, tests: HalfTests, selection: Selection, min_samples: int
) -> dict[str, SearchTest]:
    """The data-snooping test of each in-sample choice over the candidates it was chosen from:
    the regimes, the focus regime's buckets, every cell (each with >= `min_samples`)."""
    n_regimes = len(in_sample.regimes)
    regimes = list(range(n_regimes))
    cells = [n_regimes + key for key in range(N_CELLS)]
    out = {
        "focus_regime": tests.search(
            regimes, [s.samples >= min_samples for s in in_sample.regimes]
        ),
        "best_cell": tests.search(cells, [s.samples >= min_samples for s in in_sample.cells]),
    }
    focus = selection.focus_regime
    if focus is not None:
        keys = range(focus * N_BUCKETS, (focus + 1) * N_BUCKETS)
        out["best_bucket"] = tests.search(
            [n_regimes + k for k in keys], [in_sample.cells[k].samples >= min_samples for k in keys]
        )
    return out


def propose_tier(
    in_sample_edge: float,
    out_of_sample: Summary,
    search_p: float,
    wf: WalkForward | None,
    alpha: float,
) -> tuple[int, float, str]:
    """(tier, profile edge_bps, reason) from the in-sample edge rounded to 0.1 bps.

    Demoted to tier 3 (which needs edge_bps <= 0): when the search does not survive the
    snooping test (`search_p` > alpha; edge 0), when the out-of-sample edge is <= 0 (that
    edge), or when the walk-forward does not hold (the pooled out-of-sample edge, at most 0)."""
    edge = round(in_sample_edge, 1) + 0.0
    tier = tier_for_edge(edge)
    if tier == 3:
        return tier, edge, REASON_IN_SAMPLE
    if search_p > alpha:
        return 3, 0.0, REASON_NOT_SIGNIFICANT
    if out_of_sample.samples > 0 and out_of_sample.mean <= 0.0:
        return 3, min(0.0, round(out_of_sample.mean, 1)) + 0.0, REASON_SIGN_FLIP
    if wf is not None and not wf.holds:
        pooled = wf.pooled_regime.mean if wf.pooled_regime.samples else 0.0
        return 3, min(0.0, round(pooled, 1)) + 0.0, REASON_WALK_FORWARD
    return tier, edge, REASON_IN_SAMPLE


def cell_flags(
    in_sample: list[Summary], out_of_sample: list[Summary]
) -> dict[int, tuple[str, ...]]:
    """Flags of every group seen in sample: edge sign flips, or an OOS interval holding zero."""
    flags: dict[int, tuple[str, ...]] = {}
    for key, (ins, oos) in enumerate(zip(in_sample, out_of_sample, strict=True)):
        if ins.samples == 0:
            continue
        found = []
        if oos.samples < 2:
            found.append(FLAG_OOS_EMPTY)
        else:
            if np.sign(ins.mean) != np.sign(oos.mean):
                found.append(FLAG_SIGN_FLIP)
            if oos.ci_low <= 0.0 <= oos.ci_high:
                found.append(FLAG_OOS_CI_ZERO)
        if found:
            flags[key] = tuple(found)
    return flags
