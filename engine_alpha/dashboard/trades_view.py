"""The round trips for people: a terminal table (`chloe trades`) and the HTML report's trades
section, with each asset's close price and its entries and exits marked (inline SVG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from rich.console import Group
from rich.table import Table

from engine_alpha.core.formatting import fmt_num, fmt_signed, fmt_ts
from engine_alpha.dashboard.svg import Marker, series_svg
from engine_alpha.ledger.round_trips import RoundTrip
from engine_alpha.market.bars import Bar

__all__ = ["MAX_PRICE_POINTS", "price_markers", "trades_section_html", "trades_table"]

MAX_PRICE_POINTS = 600  # a chart's close-price line is thinned to at most this many points

_FIGURES = (
    ("trades", "trades"),
    ("win rate", "win_rate"),
    ("avg win USD", "avg_win_usd"),
    ("avg loss USD", "avg_loss_usd"),
    ("expectancy USD", "expectancy_usd"),
    ("PF", "profit_factor"),
    ("net USD", "net_pnl_usd"),
    ("Sharpe (daily)", "sharpe_daily"),
    ("Sortino (daily)", "sortino_daily"),
    ("worst streak", "longest_losing_streak"),
    ("avg hold h", "avg_holding_hours"),
    ("MAE / MFE bps", None),
)


def _show(name: str, f: Mapping[str, Any]) -> str:
    if name == "win_rate":
        return "-" if f[name] is None else f"{f[name]:.0%}"
    value = f[name]
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return fmt_signed(value) if name.endswith("usd") else fmt_num(value)


def _figure_cells(f: Mapping[str, Any]) -> list[str]:
    cells = [_show(key, f) for _, key in _FIGURES if key is not None]
    mae, mfe = f["avg_mae_bps"], f["avg_mfe_bps"]
    cells.append("-" if mae is None else f"{fmt_signed(mae)} / {fmt_signed(mfe)}")
    return cells


def _figures_table(summary: Mapping[str, Any]) -> Table:
    table = Table(
        title="Round trips per asset (closed; Sharpe and Sortino of daily PnL x sqrt 365)"
    )
    table.add_column("asset")
    for label, _ in _FIGURES:
        table.add_column(label, justify="right")
    for symbol, f in summary["assets"].items():
        table.add_row(symbol, *_figure_cells(f))
    table.add_row("PORTFOLIO", *_figure_cells(summary["portfolio"]))
    return table


def trades_table(rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> Group:
    """The figures per asset and the round trips, one per row (times UTC)."""
    trips = Table(title=f"{len(rows)} round trips")
    for name in ("asset", "dir", "entry", "exit", "reason", "hold h", "PnL USD", "bps", "signal"):
        trips.add_column(name, justify="right" if name in ("hold h", "PnL USD", "bps") else "left")
    for r in rows:
        trips.add_row(
            r["symbol"],
            r["direction"],
            f"{r['entry_time'][:16].replace('T', ' ')} @ {r['entry_price']}",
            "open"
            if r["exit_time"] is None
            else f"{r['exit_time'][:16].replace('T', ' ')} @ {r['exit_price']}",
            r["exit_reason"] or "-",
            "-" if r["holding_hours"] is None else fmt_num(r["holding_hours"]),
            "-" if r["pnl_usd"] is None else fmt_signed(r["pnl_usd"]),
            "-" if r["pnl_bps"] is None else fmt_signed(r["pnl_bps"]),
            f"{r['regime']}|{r['bucket']} {r['confidence']:.2f}",
        )
    return Group(_figures_table(summary), trips)


def price_markers(trips: Sequence[RoundTrip]) -> list[Marker]:
    """Entries (triangles: up long, down short) and exits (dots: green a win, red a loss),
    each with a tooltip naming the side, time, price and reason."""
    out = []
    for t in trips:
        up = t.direction == "long"
        out.append(
            Marker(
                t.entry_bar_ts,
                t.entry_price,
                "up" if up else "down",
                "#16a34a" if up else "#dc2626",
                f"{t.direction} entry {fmt_ts(t.entry_bar_ts)} UTC @ {t.entry_price} "
                f"({t.regime}|{t.bucket})",
                f"entry {t.direction}",
            )
        )
        if t.exit_bar_ts is not None and t.exit_price is not None:
            won = (t.pnl_usd or 0.0) > 0.0
            out.append(
                Marker(
                    t.exit_bar_ts,
                    t.exit_price,
                    "dot",
                    "#16a34a" if won else "#dc2626",
                    f"exit ({t.exit_reason}) {fmt_ts(t.exit_bar_ts)} UTC @ {t.exit_price}, "
                    f"{fmt_signed(t.pnl_bps)} bps",
                    f"exit {t.exit_reason}",
                )
            )
    return out


def _thinned(bars: Sequence[Bar]) -> list[tuple[int, float]]:
    step = max(1, -(-len(bars) // (MAX_PRICE_POINTS - 1)))  # room for the last bar
    points = [(b.ts_ms, b.close) for b in bars[::step]]
    if bars and points[-1][0] != bars[-1].ts_ms:
        points.append((bars[-1].ts_ms, bars[-1].close))
    return points


def trades_section_html(
    summary: Mapping[str, Any],
    trips: Sequence[RoundTrip],
    bars: Mapping[str, Sequence[Bar]],
) -> str:
    """`<h2>Trades</h2>`: the figures table, then per traded asset its close price (over the
    span of its trades, thinned to MAX_PRICE_POINTS) with every entry and exit marked."""
    if not trips:
        return '<h2>Trades</h2><p class="muted">No round trips yet.</p>'
    head = "<th class=l>asset</th>" + "".join(
        f'<th class="r">{escape(label)}</th>' for label, _ in _FIGURES
    )
    rows = []
    for symbol, f in [*summary["assets"].items(), ("PORTFOLIO", summary["portfolio"])]:
        tds = "".join(f'<td class="r">{escape(c)}</td>' for c in _figure_cells(f))
        rows.append(
            f'<tr data-symbol="{escape(symbol)}"><td class=l>{escape(symbol)}</td>{tds}</tr>'
        )
    charts = []
    for symbol in summary["assets"]:
        mine = [t for t in trips if t.symbol == symbol]
        first = min(t.entry_bar_ts for t in mine)
        last = max(t.exit_bar_ts or t.entry_bar_ts for t in mine)
        span = [b for b in bars.get(symbol, ()) if first <= b.ts_ms <= last]
        charts.append(
            f'<div class="price" data-symbol="{escape(symbol)}">'
            + series_svg(
                _thinned(span),
                title=f"{symbol} close, entries and exits",
                y_title="price",
                color="#475569",
                step=False,
                markers=price_markers(mine),
                empty="no bars for this span (feed.data_dir)",
            )
            + "</div>"
        )
    return (
        "<h2>Trades</h2>"
        '<p class="muted">Closed round trips (docs/trades.md). Charts: ▲ long entry, ▼ short '
        "entry, ● exit (green a win, red a loss); hover a mark for its time, price and "
        "reason.</p>"
        f'<table class="panel trades"><tr>{head}</tr>{"".join(rows)}</table>'
        f'<div class="charts">{"".join(charts)}</div>'
    )
