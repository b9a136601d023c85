"""`chloe report --html PATH`: one self-contained page (inline CSS and SVG, no script, no network).

It shows the panel table (the cells `chloe status` prints, from the same status dict), equity and
drawdown curves per asset and for the portfolio, the regime x bucket heat map of taken trades,
and the research section when `chloe research` has run (`research/html.py`).
The status dict is embedded as JSON (`<script type="application/json" id="chloe-status">`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.models import REGIMES
from engine_alpha.core.atomic_files import replace_atomic
from engine_alpha.core.formatting import fmt_num, fmt_pf, fmt_risk, fmt_ts, fmt_usd
from engine_alpha.dashboard.multi_asset_panel import (
    COLUMNS,
    LEFT_COLUMNS,
    PanelData,
    portfolio_cells,
    rollout_lines,
    table_cells,
)
from engine_alpha.dashboard.svg import heat_legend_svg, heat_scale, heatmap_svg, series_svg
from engine_alpha.ledger.metrics import StatsAccumulator
from engine_alpha.ops.history import AssetHistory

__all__ = ["Curve", "HeatGrid", "curves", "heatmaps", "render_html", "write_html"]

Curve = dict[str, list[tuple[int, float]]]

_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #111827; background: #f9fafb }
h1 { font-size: 22px; margin: 0 0 4px } h2 { font-size: 17px; margin: 28px 0 8px }
.muted { color: #6b7280 }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 14px 0 }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 14px }
.card b { display: block; font-size: 18px }
table.panel { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums;
  max-width: 100% }
table.panel th, table.panel td { border: 1px solid #e5e7eb; padding: 3px 6px; font-size: 13px;
  text-align: right; white-space: nowrap }
table.panel th, table.research td { white-space: normal }
table.research td[data-col="asset"] { white-space: nowrap }
table.panel th { background: #f3f4f6 } table.panel .l { text-align: left }
tr.tier3 td { color: #9ca3af } tr.stable td { background: #ecfdf5 }
tr.portfolio td { font-weight: 600; background: #f3f4f6 }
li.blk { color: #b91c1c; margin-left: 14px }
.charts { display: flex; flex-wrap: wrap; gap: 14px }
.pair { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 6px }
svg text { font-size: 11px; fill: #374151 } svg .chart-title { font-size: 12px; font-weight: 600 }
svg .ylab { text-anchor: end } svg .xlab.end { text-anchor: end }
svg .hlab, svg .hval, svg .hbps, svg .axis, svg .lg.mid { text-anchor: middle }
svg .lg.end { text-anchor: end } svg .hbps { font-size: 10px } svg .axis { fill: #6b7280 }
svg .plot { fill: #fff; stroke: #e5e7eb } svg .base { stroke: #9ca3af; stroke-dasharray: 4 3 }
svg .grid { stroke: #eef0f3; stroke-width: 1 }
"""


def _curve(pnls: Sequence[float], exits: Sequence[int], start_ts: int, equity: float) -> Curve:
    acc = StatsAccumulator(equity)
    eq: list[tuple[int, float]] = [(start_ts, equity)]
    dd: list[tuple[int, float]] = [(start_ts, 0.0)]
    for pnl, ts in zip(pnls, exits, strict=True):
        acc.add(pnl)
        now = equity + acc.net_pnl_usd
        eq.append((ts, now))
        dd.append((ts, (acc.peak_equity_usd - now) / acc.peak_equity_usd * 100.0))
    return {"equity": eq, "drawdown": dd}


def curves(data: PanelData) -> dict[str, Curve]:
    """Equity and drawdown (%) after each closed trade: `PORTFOLIO` first, then traded assets."""
    history = data.history
    firsts = [a.first_ts for a in history.assets.values() if a.first_ts is not None]
    out: dict[str, Curve] = {}
    if history.portfolio_pnls and firsts:
        start = data.config.paper.position_limits.starting_equity_usd
        out["PORTFOLIO"] = _curve(
            history.portfolio_pnls, history.portfolio_exit_ts, min(firsts), start
        )
    for symbol in data.rollout.assets:
        asset = history.asset(symbol)
        if asset.pnls and asset.first_ts is not None:
            equity = data.config.asset_equity_usd(symbol)
            out[symbol] = _curve(asset.pnls, asset.exit_ts, asset.first_ts, equity)
    return out


HeatGrid = tuple[list[list[int]], list[list[float | None]]]


def _heat_grid(assets: Sequence[AssetHistory]) -> HeatGrid:
    counts = [[0] * 10 for _ in REGIMES]
    sums = [[0.0] * 10 for _ in REGIMES]
    closed = [[0] * 10 for _ in REGIMES]
    index = {r: i for i, r in enumerate(REGIMES)}
    for asset in assets:
        for trade in asset.taken:
            if trade.regime in index:
                counts[index[trade.regime]][trade.bucket] += 1
        for regime, bucket, bps in asset.closed_cells:
            if regime in index:
                sums[index[regime]][bucket] += bps
                closed[index[regime]][bucket] += 1
    means: list[list[float | None]] = [
        [s / n if n else None for s, n in zip(srow, nrow, strict=True)]
        for srow, nrow in zip(sums, closed, strict=True)
    ]
    return counts, means


def heatmaps(data: PanelData) -> dict[str, HeatGrid]:
    """Taken trades per regime x bucket and the mean net bps of the closed ones: `PORTFOLIO`
    (all assets) first, then each asset that took a trade."""
    history = data.history
    out = {"PORTFOLIO": _heat_grid(list(history.assets.values()))}
    for symbol in data.rollout.assets:
        asset = history.asset(symbol)
        if asset.taken:
            out[symbol] = _heat_grid([asset])
    return out


def _cards(status: Mapping[str, Any]) -> str:
    pf = status["portfolio"]
    cards = [
        ("closed trades", str(pf["trades"])),
        ("PF", fmt_pf(pf["pf"], pf["wins"], pf["trades"])),
        ("max drawdown", f"{fmt_num(pf['max_drawdown_pct'])} %"),
        ("net PnL", f"{fmt_usd(pf['net_pnl_usd'])} USD"),
        ("exposure used", f"{fmt_num(pf['exposure_used_pct'], 1)} %"),
        ("risk score", fmt_risk(pf["risk_score"], pf["risk_level"])),
        ("rollout phase", str(status["rollout"]["phase"])),
        ("next asset", str(status["rollout"]["next"] or "none")),
    ]
    body = "".join(f'<div class="card">{escape(k)}<b>{escape(v)}</b></div>' for k, v in cards)
    return f'<div class="cards">{body}</div>'


_LEFT = LEFT_COLUMNS


def _row(cells: Sequence[str], cls: str, symbol: str) -> str:
    tds = "".join(
        f'<td data-col="{escape(c)}" class="{"l" if c in _LEFT else "r"}">{escape(v)}</td>'
        for c, v in zip(COLUMNS, cells, strict=True)
    )
    return f'<tr class="{cls}" data-symbol="{escape(symbol)}">{tds}</tr>'


def _table(status: Mapping[str, Any]) -> str:
    head = "".join(f'<th class="{"l" if c in _LEFT else "r"}">{escape(c)}</th>' for c in COLUMNS)
    rows = []
    for symbol, row in status["assets"].items():
        cls = "tier3" if row["tier"] == 3 else ("stable" if row["stable"] else "")
        rows.append(_row(table_cells(row), cls, symbol))
    rows.append(_row(portfolio_cells(status["portfolio"]), "portfolio", "PORTFOLIO"))
    return f'<table class="panel" id="panel"><tr>{head}</tr>{"".join(rows)}</table>'


def _rollout(status: Mapping[str, Any]) -> str:
    lines = rollout_lines(status)
    items = "".join(
        f'<li class="blk">{escape(line.strip().removeprefix("- "))}</li>'
        if line.startswith("  - ")
        else f"<li>{escape(line)}</li>"
        for line in lines
    )
    return f'<ul class="rollout">{items}</ul>'


def _charts(all_curves: Mapping[str, Curve]) -> str:
    if not all_curves:
        return '<p class="muted">No closed trades yet.</p>'
    # One drawdown scale for every chart: equal drawdowns look equal across assets.
    worst = max((v for c in all_curves.values() for _, v in c["drawdown"]), default=0.0)
    out = []
    for name, curve in all_curves.items():
        start = curve["equity"][0][1]
        out.append(
            f'<div class="pair" data-curve="{escape(name)}">'
            + series_svg(
                curve["equity"],
                title=f"{name} equity (USD)",
                y_title="equity USD",
                color="#2563eb",
                baseline=start,
            )
            + series_svg(
                curve["drawdown"],
                title=f"{name} drawdown (%)",
                y_title="drawdown %",
                color="#dc2626",
                invert=True,
                y_range=(0.0, max(worst, 0.01)),
            )
            + "</div>"
        )
    return f'<div class="charts">{"".join(out)}</div>'


def _heat_section(heat: Mapping[str, HeatGrid]) -> str:
    scale = heat_scale([means for _, means in heat.values()])
    maps = "".join(
        f'<div class="pair" data-heat="{escape(name)}">'
        + heatmap_svg(REGIMES, counts, means, title=name, scale_bps=scale)
        + "</div>"
        for name, (counts, means) in heat.items()
    )
    return (
        "<h2>Taken trades: regime x confidence bucket</h2>"
        '<p class="muted">In each cell: the number of trades taken (top) and the mean net PnL in '
        "bps of the closed ones (bottom); the colour is that mean, on one scale for every map.</p>"
        f"{heat_legend_svg(scale)}"
        f'<div class="charts">{maps}</div>'
    )


def render_html(
    status: Mapping[str, Any],
    all_curves: Mapping[str, Curve],
    heat: Mapping[str, HeatGrid],
    research_html: str = "",
    trades_html: str = "",
) -> str:
    """The whole page as one string; `trades_html` (dashboard/trades_view.py) after the heat
    maps, `research_html` (research/html.py) at the end."""
    embedded = orjson.dumps(status).decode().replace("</", "<\\/")
    as_of = fmt_ts(status["as_of_bar_ts"])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Chloe report, bar {escape(as_of)} UTC</title><style>{_CSS}</style></head><body>"
        f"<h1>Chloe multi-asset report</h1><div class=muted>as of bar {escape(as_of)} UTC; "
        f"reports directory {escape(str(status['reports_dir']))}; "
        f"journal fills {status['journal_fills']}"
        f"</div>{_cards(status)}<h2>Panel</h2>{_table(status)}<h2>Rollout</h2>{_rollout(status)}"
        f"<h2>Equity and drawdown</h2>{_charts(all_curves)}"
        f"{_heat_section(heat)}{trades_html}{research_html}"
        f'<script type="application/json" id="chloe-status">{embedded}</script>'
        "</body></html>\n"
    )


def write_html(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (temp file beside it, fsync, rename)."""
    replace_atomic(path, text.encode("utf-8"))
