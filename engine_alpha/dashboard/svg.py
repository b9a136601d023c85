"""Inline SVG charts as strings: a time series (equity, drawdown) and a regime x bucket heat map.

No JavaScript and no external resources: the markup is the chart, so a report opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from engine_alpha.dashboard.formatting import fmt_num, fmt_ts

__all__ = ["heat_color", "heatmap_svg", "series_svg"]

_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 70, 12, 22, 26


def _label(value: float) -> str:
    return f"{value:,.2f}"


def _scale(value: float, lo: float, hi: float, out_lo: float, out_hi: float) -> float:
    if hi == lo:
        return (out_lo + out_hi) / 2.0
    return out_lo + (value - lo) / (hi - lo) * (out_hi - out_lo)


def series_svg(
    points: Sequence[tuple[int, float]],
    *,
    title: str,
    color: str,
    width: int = 460,
    height: int = 180,
    invert: bool = False,
    baseline: float | None = None,
) -> str:
    """A step line of (bar_ts_ms, value) points with min/max and first/last time labels.

    `invert` draws larger values lower (drawdown hangs down from 0); `baseline` adds a dashed
    reference line (the starting equity).
    """
    head = (
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<text x="{_PAD_LEFT}" y="14" class="chart-title">{escape(title)}</text>'
    )
    if len(points) < 2:
        return head + f'<text x="{_PAD_LEFT}" y="{height // 2}">no closed trades</text></svg>'
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    lo, hi = min(ys), max(ys)
    if baseline is not None:
        lo, hi = min(lo, baseline), max(hi, baseline)
    x0, x1 = _PAD_LEFT, width - _PAD_RIGHT
    top, bottom = _PAD_TOP, height - _PAD_BOTTOM
    y_hi, y_lo = (bottom, top) if invert else (top, bottom)

    def px(x: int) -> float:
        return _scale(x, xs[0], xs[-1], x0, x1)

    def py(y: float) -> float:
        return _scale(y, lo, hi, y_lo, y_hi)

    path = [f"M{px(xs[0]):.1f},{py(ys[0]):.1f}"]
    for i in range(1, len(points)):
        path.append(f"H{px(xs[i]):.1f}V{py(ys[i]):.1f}")
    parts = [
        head,
        f'<rect x="{x0}" y="{top}" width="{x1 - x0}" height="{bottom - top}" class="plot"/>',
    ]
    if baseline is not None:
        yb = py(baseline)
        parts.append(f'<line x1="{x0}" y1="{yb:.1f}" x2="{x1}" y2="{yb:.1f}" class="base"/>')
    parts += [
        f'<path d="{"".join(path)}" fill="none" stroke="{color}" stroke-width="1.6"/>',
        f'<text x="{x0 - 4}" y="{py(hi) + 4:.1f}" class="ylab">{_label(hi)}</text>',
        f'<text x="{x0 - 4}" y="{py(lo) + 4:.1f}" class="ylab">{_label(lo)}</text>',
        f'<text x="{x0}" y="{height - 8}" class="xlab">{fmt_ts(xs[0])}</text>',
        f'<text x="{x1}" y="{height - 8}" class="xlab end">{fmt_ts(xs[-1])}</text>',
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


def heatmap_svg(
    regimes: Sequence[str],
    counts: Sequence[Sequence[int]],
    means_bps: Sequence[Sequence[float | None]],
    *,
    cell: int = 46,
) -> str:
    """Rows = regimes, columns = buckets 0-9: the count of taken trades, colored by mean net bps."""
    left, top = 92, 34
    width = left + cell * 10 + 8
    height = top + cell * len(regimes) + 8
    scale = max((abs(m) for row in means_bps for m in row if m is not None), default=0.0)
    parts = [
        f'<svg class="heat" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>taken trades by regime and bucket</title>'
    ]
    for b in range(10):
        x = left + b * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="{top - 10}" class="hlab">{b}</text>')
    for r, regime in enumerate(regimes):
        y = top + r * cell
        parts.append(
            f'<text x="{left - 8}" y="{y + cell / 2 + 4:.0f}" class="ylab">{escape(regime)}</text>'
        )
        for b in range(10):
            n, mean = counts[r][b], means_bps[r][b]
            tip = f"{regime}|{b}: {n} taken, mean net {fmt_num(mean, 1)} bps"
            parts.append(
                f'<g><title>{escape(tip)}</title><rect x="{left + b * cell}" y="{y}" '
                f'width="{cell - 2}" height="{cell - 2}" fill="{heat_color(mean, scale)}"/>'
                f'<text x="{left + b * cell + (cell - 2) / 2:.0f}" y="{y + cell / 2 + 3:.0f}" '
                f'class="hval">{n or ""}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)
