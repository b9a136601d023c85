"""A failed criterion as data: a stable code, the asset it concerns, and the numbers behind it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Blocker", "dedupe"]

_WORDS = {
    "trades_below_min": "closed trades {value}, needs >= {threshold}",
    "tier1_trades_below_min": "closed trades {value}, phase 2.2 needs >= {threshold}",
    "pf_below_min": "PF {value}{paren}, needs > {threshold} (or no losses and a win)",
    "drawdown_above_max": "max drawdown {value}%, needs < {threshold}%",
    "critical_errors": "{value} error events recorded, needs 0",
    "distribution_mismatch": "signal distribution does not match the research{paren}",
    "distribution_unknown": "expected signal distribution unknown{paren}",
    "monitoring_too_short": "monitored {value} days, needs >= {threshold} days or enough trades",
    "previous_not_enabled": "is not enabled yet (assets go in activation order)",
    "tier3_research_only": "is tier 3: research only, never tradeable",
    "research_only": "is tier 3: research only",
    "portfolio_drawdown_above_max": "portfolio max drawdown {value}%, needs < {threshold}%",
    "exposure_over_limit": "open exposure {value} USD over the limit {threshold} USD",
    "portfolio_risk_high": "portfolio risk score {value}, needs < {threshold}",
    "portfolio_critical_errors": "{value} portfolio-wide error events recorded, needs 0",
    "portfolio_risk_unknown": "portfolio risk could not be computed",
}


def _fmt(value: float | int | str | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@dataclass(frozen=True, slots=True)
class Blocker:
    """One failing criterion; tests and scripts match on `code`, people read `text()`."""

    code: str
    symbol: str | None = None
    value: float | int | None = None
    threshold: float | int | None = None
    detail: str = ""

    def text(self) -> str:
        """One line for a person: `ETHUSDT pf_below_min: PF 0.48, needs > 0.90 (...)`."""
        template = _WORDS.get(self.code, "{detail}")
        words = template.format(
            value=_fmt(self.value),
            threshold=_fmt(self.threshold),
            detail=self.detail,
            paren=f" ({self.detail})" if self.detail else "",
        )
        who = f"{self.symbol} " if self.symbol else "portfolio "
        return f"{who}{self.code}: {words}"

    def as_dict(self) -> dict[str, Any]:
        """JSON form: code, symbol, value, threshold, detail, text."""
        return {
            "code": self.code,
            "symbol": self.symbol,
            "value": self.value,
            "threshold": self.threshold,
            "detail": self.detail,
            "text": self.text(),
        }


def dedupe(blockers: Iterable[Blocker]) -> tuple[Blocker, ...]:
    """Drop repeats of the same (code, symbol), keeping the first."""
    seen: set[tuple[str, str | None]] = set()
    out: list[Blocker] = []
    for blocker in blockers:
        key = (blocker.code, blocker.symbol)
        if key not in seen:
            seen.add(key)
            out.append(blocker)
    return tuple(out)
