"""The research section of the HTML report, from `reports/research/summary.json`, and the newest
parameter sweep (`reports/research/sweeps/<id>/`) as a heat map (plain HTML, no script)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from engine_alpha.core.formatting import fmt_edge, fmt_mean_n, fmt_signed

__all__ = ["read_summary", "read_sweep", "research_section_html", "sweep_section_html"]

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


def read_sweep(reports_dir: Path) -> dict[str, Any] | None:
    """The newest complete sweep under `reports_dir` (its grid.json and summary.json), or None."""
    root = reports_dir / "research" / "sweeps"
    try:
        folders = sorted(
            (p for p in root.iterdir() if (p / "summary.json").is_file()),
            key=lambda p: (p / "summary.json").stat().st_mtime,
        )
    except OSError:
        return None
    for folder in reversed(folders):
        try:
            grid = json.loads((folder / "grid.json").read_text(encoding="utf-8"))
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return {"id": folder.name, "grid": grid, "summary": summary}
    return None


def _shade(value: float | None, scale: float) -> str:
    """A background from red (negative) through white to green (positive), by |value| / scale."""
    if value is None:
        return "#eee"
    level = min(1.0, abs(value) / scale) if scale > 0 else 0.0
    fade = round(255 - 120 * level)
    return f"rgb({fade},255,{fade})" if value > 0 else f"rgb(255,{fade},{fade})"


def sweep_section_html(sweep: Mapping[str, Any] | None) -> str:
    """`<h3>` and a heat map of the pooled walk-forward out-of-sample edge over the first two
    swept parameters (the best over the others), with the PBO and the deflated Sharpe."""
    if not sweep:
        return ""
    grid, summary = sweep["grid"], sweep["summary"]
    varied = [name for name, values in grid["grid"].items() if len(values) > 1]
    if not varied:
        return ""
    rows_name = varied[0]
    cols_name = varied[1] if len(varied) > 1 else None
    row_values = grid["grid"][rows_name]
    col_values = grid["grid"][cols_name] if cols_name else [None]
    cells: dict[tuple[str, str], float | None] = {}
    for point in summary["points"]:
        flat = _flat(point["params"])
        key = (
            json.dumps(flat.get(rows_name)),
            json.dumps(flat.get(cols_name) if cols_name else None),
        )
        edge = point["wf_edge_bps"]
        known = cells.get(key)
        if edge is not None and (known is None or edge > known):
            cells[key] = edge
        else:
            cells.setdefault(key, None)
    scale = max((abs(v) for v in cells.values() if v is not None), default=0.0)
    head = f"<th>{escape(rows_name)} \\ {escape(cols_name or '')}</th>" + "".join(
        f"<th>{escape(json.dumps(v))}</th>" for v in col_values
    )
    body = []
    for rv in row_values:
        tds = []
        for cv in col_values:
            value = cells.get((json.dumps(rv), json.dumps(cv)))
            shown = "-" if value is None else fmt_signed(value)
            tds.append(f'<td class="r" style="background:{_shade(value, scale)}">{shown}</td>')
        body.append(f"<tr><th>{escape(json.dumps(rv))}</th>{''.join(tds)}</tr>")
    best = summary.get("best")
    pbo = summary.get("pbo")
    dsr = summary.get("deflated_sharpe")
    others = varied[2:]
    pbo_text = "-" if pbo is None else f"{pbo['pbo']:.2f}"
    dsr_text = "-" if dsr is None else f"{dsr['dsr']:.3f}"
    note = (
        f"Sweep {sweep['id']} of {grid['model']}: {len(summary['points'])} points on "
        f"{len(summary['assets'])} assets, {grid['walk_forward']['folds']} walk-forward folds; "
        "each cell the pooled out-of-sample edge in net bps"
        + (f" (the best over {', '.join(others)})" if others else "")
        + f". Best point: {json.dumps(best['params']) if best else 'none'}; "
        f"PBO {pbo_text}; deflated Sharpe {dsr_text} (docs/research.md, Sweeps)."
    )
    return (
        f'<h3>Parameter sweep</h3><p class="muted">{escape(note)}</p>'
        f'<table class="panel sweep"><tr>{head}</tr>{"".join(body)}</table>'
    )


def _flat(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested parameters by dotted name, as a grid names them."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{name}."))
        else:
            out[prefix + name] = value
    return out


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


def research_section_html(
    summary: Mapping[str, Any] | None, sweep: Mapping[str, Any] | None = None
) -> str:
    """`<h2>Research</h2>`, a note on the assumptions and one row per asset (class `panel`),
    then the newest sweep's heat map when there is one."""
    if not summary:
        return (
            '<h2>Research</h2><p class="muted">No research yet: run chloe research.</p>'
            + sweep_section_html(sweep)
        )
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
        + sweep_section_html(sweep)
    )
