"""The research section of the HTML report, from `reports/research/summary.json` (plain HTML)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from engine_alpha.core.formatting import fmt_edge, fmt_mean_n, fmt_signed

__all__ = ["read_summary", "research_section_html"]

_HEAD = (
    "asset",
    "shipped tier",
    "shipped edge",
    "focus",
    "IS edge [95% CI] n",
    "OOS edge [95% CI] n",
    "best cell IS / OOS",
    "trades IS / OOS",
    "proposed tier",
    "flags",
)
_LEFT = {"asset", "focus", "best cell IS / OOS", "flags"}


def read_summary(reports_dir: Path) -> dict[str, Any] | None:
    """The last research summary under `reports_dir`, or None if research never ran there."""
    path = reports_dir / "research" / "summary.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def _edge(group: Mapping[str, Any] | None) -> str:
    if not group:
        return "-"
    return fmt_edge(group.get("edge_bps"), group.get("ci95_bps"), group["samples"])


def _mean(group: Mapping[str, Any] | None) -> str:
    return "-" if not group else fmt_mean_n(group.get("edge_bps"), group["samples"])


def _row(symbol: str, asset: Mapping[str, Any]) -> list[str]:
    current = asset.get("current") or {}
    ins, oos = asset["in_sample"], asset["out_of_sample"]
    focus = ins["asset_edge"]["regime"] if ins["asset_edge"] else "-"
    cell = "-"
    if ins["best_selective_cell"]:
        cell = (
            f"{ins['best_selective_cell']['cell']}: {_mean(ins['best_selective_cell'])} / "
            f"{_mean(oos['best_selective_cell'])}"
        )
    proposal = asset["proposal"]
    return [
        symbol,
        str(current.get("tier", "-")),
        fmt_signed(current.get("edge_bps")),
        focus,
        _edge(ins["asset_edge"]),
        _edge(oos["asset_edge"]),
        cell,
        f"{_mean(ins['trades'])} / {_mean(oos['trades'])}",
        f"{proposal['tier']} ({proposal['reason']})",
        ", ".join(proposal.get("flags", [])),
    ]


def research_section_html(summary: Mapping[str, Any] | None) -> str:
    """`<h2>Research</h2>`, a note on the assumptions and one row per asset (class `panel`)."""
    if not summary:
        return '<h2>Research</h2><p class="muted">No research yet: run chloe research.</p>'
    p = summary["params"]
    note = (
        f"Net edge in bps over {p['horizon_bars']} bars after a {p['round_trip_cost_bps']:g} bps "
        f"round trip; in sample / out of sample split {p['split']}; generated "
        f"{summary['generated_at']}. Proposed tier from the in-sample edge (docs/research.md)."
    )
    head = "".join(f'<th class="{"l" if h in _LEFT else "r"}">{escape(h)}</th>' for h in _HEAD)
    rows = []
    for symbol, asset in summary["assets"].items():
        cells = _row(symbol, asset)
        tds = "".join(
            f'<td data-col="{escape(h)}" class="{"l" if h in _LEFT else "r"}">{escape(v)}</td>'
            for h, v in zip(_HEAD, cells, strict=True)
        )
        rows.append(f'<tr data-symbol="{escape(symbol)}">{tds}</tr>')
    return (
        f'<h2>Research</h2><p class="muted">{escape(note)}</p>'
        f'<table class="panel research"><tr>{head}</tr>{"".join(rows)}</table>'
    )
