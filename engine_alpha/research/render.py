"""Readable research tables (rich): one row per asset, optional per-cell tables, profile diffs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table

from engine_alpha.config.models import REGIMES, AssetProfile
from engine_alpha.core.formatting import fmt_edge, fmt_mean_n, fmt_signed
from engine_alpha.research.analysis import (
    FLAG_IS_CI_ZERO,
    FLAG_OOS_CI_ZERO,
    FLAG_OOS_EMPTY,
    FLAG_SIGN_FLIP,
    REASON_NOT_SIGNIFICANT,
    REASON_SIGN_FLIP,
    REASON_WALK_FORWARD,
    AssetResult,
    ResearchSettings,
)
from engine_alpha.research.edge import N_BUCKETS, Summary, cell_name
from engine_alpha.research.pipeline import ResearchRun
from engine_alpha.research.report import iso_utc

__all__ = ["asset_table", "cell_table", "comparison_table", "diff_table"]

_SHORT = {
    FLAG_IS_CI_ZERO: "IS~0",
    FLAG_OOS_CI_ZERO: "OOS~0",
    FLAG_SIGN_FLIP: "flip",
    FLAG_OOS_EMPTY: "OOS:n<2",
}
_LEGEND = (
    "edge [95% t CI] n: focus regime = best in-sample regime; SPA p: the search for the best "
    "regime / cell tested against noise; edges: cells with BY q <= alpha; tier from the "
    "in-sample edge, demoted to 3 when ns: the search is not significant, *: out-of-sample "
    "edge <= 0, wf: the walk-forward does not hold; ~0: the interval holds zero; flip: sign "
    "changes"
)
_DEMOTED = {REASON_SIGN_FLIP: "*", REASON_NOT_SIGNIFICANT: " ns", REASON_WALK_FORWARD: " wf"}


def _edge(s: Summary | None) -> str:
    """`-12.3 [-20, -4] n=312`, or a dash without samples (the one formatter, full precision)."""
    if s is None:
        return "-"
    return fmt_edge(s.mean, (s.ci_low, s.ci_high), s.samples)


def _current(profile: AssetProfile | None) -> str:
    if profile is None:
        return "-"
    where = profile.regime or profile.best_selective_cell or "-"
    return f"T{profile.tier} {fmt_signed(profile.edge_bps)} {where}"


def asset_table(
    results: Mapping[str, AssetResult],
    settings: ResearchSettings,
    current: Mapping[str, AssetProfile],
    model: str = "",
) -> Table:
    """One row per asset: shipped profile, in- and out-of-sample edges, proposed tier
    (`model`: which signal model, for the title)."""
    of = f" ({model})" if model else ""
    table = Table(
        title=(
            f"Edge per asset{of}, net bps over {settings.horizon_bars} bars after "
            f"{settings.cost_bps:g} bps round trip (IS/OOS split {settings.split.describe()})"
        ),
        caption=_LEGEND,
    )
    for name in (
        "asset",
        "shipped",
        "focus",
        "IS edge",
        "OOS edge",
        "best bucket IS / OOS",
        "best cell IS / OOS",
        "trades IS / OOS",
        "SPA p regime / cell",
        "edges",
        *(["walk-forward OOS"] if settings.walk_forward else []),
        "tier",
    ):
        table.add_column(name, overflow="fold")
    for symbol, r in results.items():
        table.add_row(symbol, _current(current.get(symbol)), *_asset_cells(r))
    return table


def _search(r: AssetResult) -> str:
    def p(name: str) -> str:
        test = r.search.get(name)
        return "-" if test is None else f"{test.spa_p:.2f}"

    return f"{p('focus_regime')} / {p('best_cell')}"


def _walk_forward(r: AssetResult) -> list[str]:
    wf = r.walk_forward
    if wf is None:
        return []
    return [f"{_edge(wf.pooled_regime)}; {wf.positive_folds}/{wf.deciding_folds} folds > 0"]


def comparison_table(runs: Mapping[str, ResearchRun]) -> Table:
    """Models side by side: per asset and model, the focus regime's in- and out-of-sample edge
    and the proposed tier (the same figures as each model's own table)."""
    table = Table(
        title="Models side by side: focus-regime edge IS / OOS, net bps [95% CI] n, and tier",
        caption="the focus regime is chosen in sample for each model; demoted to 3 when "
        "ns: not significant after the search, *: OOS edge <= 0, wf: walk-forward fails",
    )
    table.add_column("asset", overflow="fold")
    for label in runs:
        table.add_column(label, overflow="fold")
    symbols = list(dict.fromkeys(s for run in runs.values() for s in run.results))
    for symbol in symbols:
        row = [symbol]
        for run in runs.values():
            r = run.results.get(symbol)
            if r is None:
                row.append("-")
                continue
            demoted = _DEMOTED.get(r.tier_reason, "")
            focus = "-" if r.selection.focus_regime is None else REGIMES[r.selection.focus_regime]
            row.append(
                f"{focus}: {_edge(r.focus_edge('in_sample'))} / "
                f"{_edge(r.focus_edge('out_of_sample'))}; tier {r.tier}{demoted}"
            )
        table.add_row(*row)
    return table


def _asset_cells(r: AssetResult) -> list[str]:
    """One asset's row after its name and shipped profile."""
    sel = r.selection
    ins, oos = r.halves["in_sample"], r.halves["out_of_sample"]
    focus = bucket = cell = "-"
    if sel.focus_regime is not None:
        focus = REGIMES[sel.focus_regime]
        if sel.best_bucket is not None:
            key = sel.focus_regime * N_BUCKETS + sel.best_bucket
            bucket = f"{sel.best_bucket}: {_mean(ins.cells[key])} / {_mean(oos.cells[key])}"
    if sel.best_cell is not None:
        key = sel.best_cell
        cell = f"{cell_name(key)}: {_mean(ins.cells[key])} / {_mean(oos.cells[key])}"
    demoted = _DEMOTED.get(r.tier_reason, "")
    notes = " ".join(_SHORT.get(code, code) for code in r.asset_flags)
    return [
        focus,
        _edge(r.focus_edge("in_sample")),
        _edge(r.focus_edge("out_of_sample")),
        bucket,
        cell,
        f"{_mean(ins.trades.overall)} / {_mean(oos.trades.overall)}",
        _search(r),
        " ".join(cell_name(key) for key in r.edges) or "none",
        *_walk_forward(r),
        f"{r.tier}{demoted} {notes}".rstrip(),
    ]


def _mean(s: Summary) -> str:
    return fmt_mean_n(s.mean, s.samples)


def cell_table(result: AssetResult, min_samples: int) -> Table:
    """Every cell of one asset seen in sample, both halves; `*` marks cells big enough to pick."""
    ins, oos = result.halves["in_sample"], result.halves["out_of_sample"]
    table = Table(
        title=f"{result.symbol}: cells (out of sample from {iso_utc(result.cutoff_ms)})",
        caption=f"* = at least {min_samples} in-sample samples, so it can be chosen as best; "
        "block CI: stationary block bootstrap; q: Benjamini-Yekutieli over the * cells; "
        "EDGE: q <= alpha and a positive mean",
    )
    for name in (
        "cell",
        "IS edge",
        "IS block CI, q",
        "IS hit",
        "OOS edge",
        "OOS hit",
        "trades IS / OOS",
        "flags",
    ):
        table.add_column(name, overflow="fold")
    for key, s in enumerate(ins.cells):
        if s.samples == 0:
            continue
        table.add_row(
            cell_name(key) + ("*" if s.samples >= min_samples else ""),
            _edge(s),
            _block(result, key),
            _rate(s),
            _edge(oos.cells[key]),
            _rate(oos.cells[key]),
            f"{_mean(ins.trades.cells[key])} / {_mean(oos.trades.cells[key])}",
            " ".join(_SHORT.get(code, code) for code in result.flags.get(key, ())),
        )
    return table


def _block(result: AssetResult, key: int) -> str:
    """A cell's in-sample block-bootstrap interval and q-value, and EDGE if it is called one."""
    tests = result.halves["in_sample"].tests
    test = None if tests is None else tests.cells[key]
    if tests is None or test is None:
        return "-"
    q = float(tests.cell_q[key])
    shown = f"[{test.ci_low:+.0f}, {test.ci_high:+.0f}]"
    if not math.isnan(q):  # a candidate cell
        shown += f" q={q:.2f}"
    return shown + (" EDGE" if key in result.edges else "")


def _rate(s: Summary) -> str:
    return "-" if s.samples == 0 else f"{s.hit_rate:.0%}"


def diff_table(changes: Sequence[tuple[str, Any, Any]], title: str) -> Table:
    """The changed fields of a profile file, one row each."""
    table = Table(title=title)
    table.add_column("field", overflow="fold")
    table.add_column("current", overflow="fold")
    table.add_column("proposed", overflow="fold")
    for path, old, new in changes:
        table.add_row(path, _show(old), _show(new))
    return table


def _show(value: Any) -> str:
    return "null" if value is None else str(value)
