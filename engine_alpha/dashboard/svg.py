"""Inline SVG charts as strings: a time series (equity, drawdown) and a regime x bucket heat map.

No JavaScript and no external resources: the markup is the chart, so a report opens offline.
Charts have gridlines, labelled axes and several time labels; a heat map writes its values in
its cells and comes with a colour legend (`heat_legend_svg`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from engine_alpha.core.formatting import fmt_date, fmt_num, fmt_signed

__all__ = [
    "Marker",
    "heat_color",
    "heat_legend_svg",
    "heat_scale",
    "heatmap_svg",
    "nice_ticks",
    "series_svg",
]

_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 78, 14, 22, 40
_TIME_LABELS = 5


def _label(value: float) -> str:
    return fmt_num(value, grouped=True)


def _scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    if hi == lo:
        return (out_lo + out_hi) / 2.0
    return out_lo + (value - lo) / (hi - lo) * (out_hi - out_lo)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round gridline values (steps of 1, 2, 2.5 or 5 x 10^k) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if hi == lo else []
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(lo / step + 1e-9) * step
    ticks: list[float] = []
    value = first
    while value < hi + step * 1e-9 or not ticks or ticks[-1] < hi - step * 1e-9:
        ticks.append(round(value, 10) + 0.0)
        value = first + len(ticks) * step
    return ticks


def _grid(ticks: Sequence[float], py: Callable[[float], float], x0: float, x1: float) -> list[str]:
    out = []
    for t in ticks:
        y = py(t)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" class="ylab">{_label(t)}</text>')
    return out


@dataclass(frozen=True, slots=True)
class Marker:
    """A point drawn on a chart: `shape` "up", "down" (triangles) or "dot", with its colour
    and a tooltip (`title`); `kind` becomes its CSS class (e.g. "entry", "exit")."""

    ts_ms: int
    value: float
    shape: str
    color: str
    title: str
    kind: str


def _marker(m: Marker, x: float, y: float) -> str:
    tip = f"<title>{escape(m.title)}</title>"
    if m.shape == "dot":
        return (
            f'<circle class="marker {m.kind}" cx="{x:.1f}" cy="{y:.1f}" r="3.2" '
            f'fill="{m.color}">{tip}</circle>'
        )
    d = 5.0 if m.shape == "up" else -5.0
    pts = f"{x:.1f},{y + d:.1f} {x - 4:.1f},{y + d * 2:.1f} {x + 4:.1f},{y + d * 2:.1f}"
    return f'<polygon class="marker {m.kind}" points="{pts}" fill="{m.color}">{tip}</polygon>'


def series_svg(
    points: Sequence[tuple[int, float]],
    *,
    title: str,
    color: str,
    y_title: str,
    width: int = 560,
    height: int = 200,
    invert: bool = False,
    baseline: float | None = None,
    y_range: tuple[float, float] | None = None,
    step: bool = True,
    markers: Sequence[Marker] = (),
    empty: str = "no closed trades",
) -> str:
    """A step line (or, `step=False`, a straight line) of (bar_ts_ms, value) points with
    gridlines, value and time labels, and `markers` drawn on top.

    `invert` draws larger values lower (drawdown hangs down from 0); `baseline` adds a dashed
    reference line (the starting equity); `y_range` fixes the value axis (a scale shared by
    several charts, so equal values look equal).
    """
    head = (
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="{_PAD_LEFT}" y="14" class="chart-title">{escape(title)}</text>'
    )
    if len(points) < 2:
        return head + f'<text x="{_PAD_LEFT}" y="{height // 2}">{escape(empty)}</text></svg>'
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    lo, hi = (min(ys), max(ys)) if y_range is None else y_range
    if baseline is not None:
        lo, hi = min(lo, baseline), max(hi, baseline)
    ticks = nice_ticks(lo, hi)
    if len(ticks) > 1:
        lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    x0, x1 = _PAD_LEFT, width - _PAD_RIGHT
    top, bottom = _PAD_TOP, height - _PAD_BOTTOM
    y_hi, y_lo = (bottom, top) if invert else (top, bottom)

    def px(x: int) -> float:
        return _scale(x, xs[0], xs[-1], x0, x1)

    def py(y: float) -> float:
        return _scale(y, lo, hi, y_lo, y_hi)

    path = [f"M{px(xs[0]):.1f},{py(ys[0]):.1f}"]
    for i in range(1, len(points)):
        if step:
            path.append(f"H{px(xs[i]):.1f}V{py(ys[i]):.1f}")
        else:
            path.append(f"L{px(xs[i]):.1f},{py(ys[i]):.1f}")
    parts = [
        head,
        f'<rect x="{x0}" y="{top}" width="{x1 - x0}" height="{bottom - top}" class="plot"/>',
        *_grid(ticks, py, x0, x1),
    ]
    for i in range(_TIME_LABELS):
        ts = xs[0] + (xs[-1] - xs[0]) * i // (_TIME_LABELS - 1)
        x = px(ts)
        anchor = "start" if i == 0 else ("end" if i == _TIME_LABELS - 1 else "middle")
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 14}" class="xlab" text-anchor="{anchor}">'
            f"{fmt_date(ts)}</text>"
        )
    if baseline is not None:
        yb = py(baseline)
        parts.append(f'<line x1="{x0}" y1="{yb:.1f}" x2="{x1}" y2="{yb:.1f}" class="base"/>')
    mid = (top + bottom) / 2
    parts += [
        f'<path d="{"".join(path)}" fill="none" stroke="{color}" stroke-width="1.6"/>',
        *(_marker(m, px(m.ts_ms), py(m.value)) for m in markers),
        f'<text x="12" y="{mid:.0f}" class="axis" transform="rotate(-90 12 {mid:.0f})">'
        f"{escape(y_title)}</text>",
        f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 6}" class="axis">bar time (UTC)</text>',
        "</svg>",
    ]
    return "".join(parts)


def heat_color(mean_bps: float | None, scale_bps: float) -> str:
    """Red for losing cells, green for winning ones, white at 0, grey when none closed."""
    if mean_bps is None:
        return "#e5e7eb"
    t = max(-1.0, min(1.0, mean_bps / scale_bps if scale_bps > 0 else 0.0))
    if t >= 0:
        r, g, b = round(255 - 175 * t), round(255 - 55 * t), round(255 - 175 * t)
    else:
        r, g, b = round(255 + 35 * t), round(255 + 175 * t), round(255 + 175 * t)
    return f"#{r:02x}{g:02x}{b:02x}"


def heat_scale(means: Sequence[Sequence[Sequence[float | None]]]) -> float:
    """The colour scale (bps at full colour) shared by several heat maps: the largest |mean|."""
    return max(
        (abs(m) for grid in means for row in grid for m in row if m is not None), default=0.0
    )


def heat_legend_svg(scale_bps: float, *, width: int = 420) -> str:
    """The colour key: a red-white-green ramp from -scale to +scale bps, and the grey of none."""
    steps = 21
    bar_w = (width - 130) / steps
    parts = [
        f'<svg class="heat-legend" role="img" width="{width}" height="46" '
        f'viewBox="0 0 {width} 46"><title>colour legend: mean net PnL in bps</title>'
    ]
    for i in range(steps):
        value = -scale_bps + 2 * scale_bps * i / (steps - 1)
        parts.append(
            f'<rect x="{10 + i * bar_w:.1f}" y="6" width="{bar_w + 0.5:.1f}" height="14" '
            f'fill="{heat_color(value, scale_bps)}"/>'
        )
    end = 10 + steps * bar_w
    parts += [
        f'<text x="10" y="34" class="lg">{fmt_num(-scale_bps, 1)} bps</text>',
        f'<text x="{10 + steps * bar_w / 2:.0f}" y="34" class="lg mid">0</text>',
        f'<text x="{end:.0f}" y="34" class="lg end">+{fmt_num(scale_bps, 1)} bps</text>',
        f'<rect x="{end + 16:.0f}" y="6" width="14" height="14" fill="{heat_color(None, 1)}"/>',
        f'<text x="{end + 34:.0f}" y="18" class="lg">none closed</text>',
        "</svg>",
    ]
    return "".join(parts)


def heatmap_svg(
    regimes: Sequence[str],
    counts: Sequence[Sequence[int]],
    means_bps: Sequence[Sequence[float | None]],
    *,
    title: str,
    scale_bps: float | None = None,
    cell: int = 46,
) -> str:
    """Rows = regimes, columns = buckets 0-9: each cell writes its count of taken trades and the
    mean net bps of the closed ones, and is coloured by that mean (`scale_bps` = full colour)."""
    left, top = 92, 52
    width = left + cell * 10 + 8
    height = top + cell * len(regimes) + 8
    scale = heat_scale([means_bps]) if scale_bps is None else scale_bps
    parts = [
        f'<svg class="heat" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>',
        f'<text x="{left + cell * 5}" y="30" class="hlab">confidence bucket</text>',
    ]
    for b in range(10):
        x = left + b * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 6}" class="hlab">{b}</text>')
    for r, regime in enumerate(regimes):
        y = top + r * cell
        parts.append(
            f'<text x="{left - 8}" y="{y + cell / 2 + 4:.0f}" class="ylab">{escape(regime)}</text>'
        )
        for b in range(10):
            parts.append(
                _heat_cell(
                    regime,
                    b,
                    counts[r][b],
                    means_bps[r][b],
                    scale=scale,
                    x=left + b * cell,
                    y=y,
                    cell=cell,
                )
            )
    parts.append("</svg>")
    return "".join(parts)


def _heat_cell(
    regime: str, b: int, n: int, mean: float | None, *, scale: float, x: int, y: int, cell: int
) -> str:
    tip = f"{regime}|{b}: {n} taken, mean net {fmt_num(mean, 1)} bps"
    cx = x + (cell - 2) / 2
    mean_text = "" if mean is None else fmt_signed(mean, 0)
    return (
        f'<g data-cell="{escape(regime)}|{b}"><title>{escape(tip)}</title>'
        f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
        f'fill="{heat_color(mean, scale)}"/>'
        f'<text x="{cx:.0f}" y="{y + cell / 2 - 3:.0f}" class="hval">{n or ""}</text>'
        f'<text x="{cx:.0f}" y="{y + cell / 2 + 11:.0f}" class="hbps">{mean_text}</text></g>'
    )
