"""`chloe journal verify`: is the journal sound, and do pf_local.json and the checkpoint agree?

It reads the reports as they are, also while the daemon runs: pf_local.json first (it is
replaced atomically), then the journal. A running daemon's journal can end in a commit being
written, so a torn end is read again a few times before it is called a problem; and
pf_local.json is compared with the journal's lines up to its own `as_of_bar_ts` (it is
rewritten at most once a second, so newer lines are not yet in it). Only with the daemon
stopped is a pf_local.json behind the journal a problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from engine_alpha.config.config_loader import ChloeConfig
from engine_alpha.execution.book import Book
from engine_alpha.ledger.checkpoint import CHECKPOINT_SUFFIX, check_checkpoint
from engine_alpha.ledger.journal import JournalError, read_journal, verify_journal
from engine_alpha.ledger.pf_report import build_report, report_differences
from engine_alpha.ledger.reports_dir import PF_FILE, TRADES_FILE, report_inputs
from engine_alpha.ops.journal_audit import audit_journal
from engine_alpha.ops.reports_lock import lock_holder_pid


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
    checkpoint_problems: list[str] = field(default_factory=list)
    missing: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not (
            self.journal_problems
            or self.invariant_problems
            or self.report_problems
            or self.checkpoint_problems
        )

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
            (f"{TRADES_FILE}{CHECKPOINT_SUFFIX}", self.checkpoint_problems),
        ):
            out.append(f"{title}: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
            out.extend(f"  - {p}" for p in problems[:50])
        out.append("verdict: OK" if self.ok else "verdict: PROBLEMS FOUND")
        return "\n".join(out)


def check_reports(
    reports_dir: Path, config: ChloeConfig, *, retries: int = 10, pause_s: float = 0.1
) -> ReportsCheck:
    """Verify the journal's lines, audit them against the config, compare pf_local.json and the
    checkpoint with a recomputation; a torn end is re-read `retries` times (a commit in flight).
    """
    path = reports_dir / TRADES_FILE
    check = ReportsCheck(journal=path)
    pf_path = reports_dir / PF_FILE
    written = orjson.loads(pf_path.read_bytes()) if pf_path.exists() else None
    if not path.exists():
        check.missing = True
        return check
    report = verify_journal(path)
    for _ in range(retries):
        if not _only_torn_end(report.problems):
            break
        time.sleep(pause_s)
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
    inputs = report_inputs(config)
    problem = check_checkpoint(
        path, Book(inputs["starting_equity_usd"], inputs["asset_equity_usd"])
    )
    if problem is not None:
        check.checkpoint_problems.append(
            f"{problem} (the daemon ignores it at start; the next clean stop rewrites it)"
        )
    if written is None:
        if lines:
            check.report_problems.append(f"{pf_path}: missing")
        return check
    as_of = written.get("as_of_bar_ts")
    covered = [line for line in lines if as_of is not None and line["bar_ts"] <= as_of]
    recomputed = build_report(covered, as_of_bar_ts=as_of, generated_at="", **inputs)
    check.report_problems.extend(report_differences(written, recomputed))
    if len(covered) < len(lines) and lock_holder_pid(reports_dir) is None:
        check.report_problems.append(
            f"{pf_path}: as of bar {as_of}, behind the journal's {len(lines) - len(covered)} "
            "newer lines (the daemon stopped before rewriting it; its next start does)"
        )
    return check


def _only_torn_end(problems: list[str]) -> bool:
    """True when the one problem is a torn end, which a commit in flight also shows."""
    return len(problems) == 1 and "torn last" in problems[0]
