"""Audit a journal against the config: the invariants of SPEC §3 and §4, each problem named.

Checks what a trader relies on: seq and fill ids, one position per asset, PnL and fee arithmetic,
caps (per trade, per UTC day, portfolio exposure), filters and tiers of every entry. It judges the
journal by the config given, so a journal written under older caps may be flagged after an edit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.core.units import BPS, DAY_MS
from engine_alpha.execution.sizing import asset_caps
from engine_alpha.signals.decision import bucket_of
from engine_alpha.strategy.filters import FilterRules, refusal

_REL = 1e-9


def _close_enough(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL, abs_tol=1e-9)


class _Audit:
    def __init__(self, config: ChloeConfig) -> None:
        self.config = config
        self.problems: list[str] = []
        self.open: dict[str, Mapping[str, Any]] = {}
        self.daily: dict[tuple[str, int], float] = {}
        self.fill_ids: set[str] = set()
        self.expected_seq = 1

    def problem(self, line: Mapping[str, Any], text: str) -> None:
        self.problems.append(f"seq {line.get('seq')} {line.get('symbol')}: {text}")

    def line(self, line: Mapping[str, Any]) -> None:
        if line["seq"] != self.expected_seq:
            self.problem(line, f"seq {line['seq']} where {self.expected_seq} was due")
        self.expected_seq = line["seq"] + 1
        if line["fill_id"] in self.fill_ids:
            self.problem(line, f"duplicate fill_id {line['fill_id']}")
        self.fill_ids.add(line["fill_id"])
        if not _close_enough(line["notional_usd"], line["qty"] * line["price"]):
            self.problem(line, "notional_usd is not qty x price")
        if not _close_enough(line["fee_usd"], line["notional_usd"] * line["fee_bps"] / BPS):
            self.problem(line, "fee_usd is not notional x fee_bps")
        if line["action"] == "open":
            self.entry(line)
        else:
            self.exit(line)

    def entry(self, line: Mapping[str, Any]) -> None:
        symbol = line["symbol"]
        if symbol in self.open:
            self.problem(line, "a second position opened while one is open")
        self.open[symbol] = line
        self.caps(line)
        self.filters(line)

    def caps(self, line: Mapping[str, Any]) -> None:
        symbol = line["symbol"]
        config = self.config
        enabled = config.paper.enabled_assets.get(symbol)
        profile = config.profiler.assets.get(symbol)
        if enabled is None or profile is None or profile.tier == 3:
            self.problem(line, "a fill for an asset that may not trade (tier 3 or unknown)")
            return
        caps = asset_caps(config, symbol)
        notional = line["notional_usd"]
        if notional > caps.per_trade_usd * caps.size_factor * (1 + _REL):
            self.problem(line, f"notional {notional} over the per-trade cap {caps.per_trade_usd}")
        key = (symbol, line["bar_ts"] // DAY_MS)
        self.daily[key] = self.daily.get(key, 0.0) + notional
        if self.daily[key] > caps.daily_usd * (1 + _REL):
            self.problem(line, f"daily notional {self.daily[key]} over the cap {caps.daily_usd}")
        exposure = sum(o["notional_usd"] for o in self.open.values())
        limit = config.paper.position_limits.max_portfolio_exposure_usd
        if exposure > limit * (1 + _REL):
            self.problem(line, f"open exposure {exposure} over the portfolio cap {limit}")

    def filters(self, line: Mapping[str, Any]) -> None:
        profile = self.config.profiler.assets.get(line["symbol"])
        if profile is None:
            return
        rules = FilterRules.from_profile(profile, line["mode"], self.config.paper.observation)
        code = refusal(rules, line["regime"], line["direction"], line["confidence"], line["bucket"])
        if code is not None:
            self.problem(line, f"entry that the filter refuses ({code})")
        if line["bucket"] != bucket_of(line["confidence"]):
            self.problem(line, "bucket does not match confidence")

    def exit(self, line: Mapping[str, Any]) -> None:
        entry = self.open.pop(line["symbol"], None)
        if entry is None or entry["trade_id"] != line["trade_id"]:
            self.problem(line, "a close without its open")
            return
        if line["bar_ts"] < entry["bar_ts"] or line["qty"] != entry["qty"]:
            self.problem(line, "close before its open, or with another quantity")
        sign = 1.0 if entry["direction"] == "long" else -1.0
        pnl = sign * (line["price"] - entry["price"]) * entry["qty"]
        pnl -= entry["fee_usd"] + line["fee_usd"]
        if not _close_enough(line["pnl_usd"], pnl):
            self.problem(line, f"pnl_usd {line['pnl_usd']} where the fills give {pnl}")
        if not _close_enough(line["pnl_bps"], line["pnl_usd"] / entry["notional_usd"] * BPS):
            self.problem(line, "pnl_bps is not pnl / entry notional x 10,000")


def audit_journal(lines: Iterable[Mapping[str, Any]], config: ChloeConfig) -> list[str]:
    """Every invariant the journal breaks, one line each; empty when it is sound."""
    audit = _Audit(config)
    for line in lines:
        audit.line(line)
    return audit.problems
