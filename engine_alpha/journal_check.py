"""`chloe journal verify`: is the journal sound, and does pf_local.json agree with it?"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.ledger.audit import audit_journal
from engine_alpha.ledger.journal import JournalError, read_journal, verify_journal
from engine_alpha.ledger.pf_report import report_differences
from engine_alpha.reports import PF_FILE, TRADES_FILE, recompute_pf_local


@dataclass
class ReportsCheck:
    """The verdict on a reports directory: journal counts and every problem, by kind."""

    journal: Path
    lines: int = 0
    fills: int = 0
    closed_trades: int = 0
    open_positions: dict[str, str] = field(default_factory=dict)
    journal_problems: list[str] = field(default_factory=list)
    invariant_problems: list[str] = field(default_factory=list)
    report_problems: list[str] = field(default_factory=list)
    missing: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not (self.journal_problems or self.invariant_problems or self.report_problems)

    def render(self) -> str:
        """A short text for the operator."""
        counts = (
            "no journal yet (a fresh install: nothing recorded, which is sound)"
            if self.missing
            else f"{self.lines} lines, {self.fills} fills, {self.closed_trades} closed trades"
        )
        out = [
            f"journal {self.journal}: {counts}",
            "open positions: "
            + (", ".join(f"{s} ({t})" for s, t in sorted(self.open_positions.items())) or "none"),
        ]
        for title, problems in (
            ("journal", self.journal_problems),
            ("invariants", self.invariant_problems),
            (PF_FILE, self.report_problems),
        ):
            out.append(f"{title}: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
            out.extend(f"  - {p}" for p in problems[:50])
        out.append("verdict: OK" if self.ok else "verdict: PROBLEMS FOUND")
        return "\n".join(out)


def check_reports(reports_dir: Path, config: ChloeConfig) -> ReportsCheck:
    """Verify the journal's lines, audit them against the config, compare pf_local.json."""
    path = reports_dir / TRADES_FILE
    check = ReportsCheck(journal=path)
    if not path.exists():
        check.missing = True
        return check
    report = verify_journal(path)
    check.lines, check.fills = report.lines, report.fills
    check.closed_trades, check.open_positions = report.closed_trades, report.open_positions
    check.journal_problems.extend(report.problems)
    if report.problems:
        return check
    lines: list[dict[str, Any]] = []
    try:
        read_journal(path, lines.append)
    except JournalError as exc:
        check.journal_problems.append(str(exc))
        return check
    check.invariant_problems.extend(audit_journal(lines, config))
    pf_path = reports_dir / PF_FILE
    if not pf_path.exists():
        if lines:
            check.report_problems.append(f"{pf_path}: missing")
        return check
    written = orjson.loads(pf_path.read_bytes())
    recomputed = recompute_pf_local(reports_dir, config, written.get("as_of_bar_ts"))
    check.report_problems.extend(report_differences(written, recomputed))
    return check
