"""A checkpoint is trusted only as far as the journal backs it; a fill must add up.

The edits below keep the checkpoint's own SHA-256 right (recomputed, as someone editing it
would), so only a check against the journal can catch them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.execution.book import Book
from engine_alpha.ledger.arithmetic import fill_arithmetic_problem
from engine_alpha.ledger.checkpoint import check_checkpoint, checkpoint_path, recover
from engine_alpha.ledger.journal import Journal, JournalError
from tests.ledger.factory import write_lines
from tests.ledger.test_checkpoint import (
    EQUITY,
    assert_same_state,
    checkpointed,
    full_recovery,
    random_lines,
    sample_lines,
)

DAY_MS = 86_400_000


def _book() -> Book:
    """The daemon's book: built with the equities its reports use, as the saving one was."""
    return Book(10_000.0, EQUITY)


def _edit_checkpoint(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Change the checkpoint's body and recompute its SHA-256, as a deliberate edit would."""
    cp = checkpoint_path(path)
    head, _, body = cp.read_bytes().partition(b"\n")
    content = orjson.loads(body)
    change(content)
    body = orjson.dumps(content)
    header = orjson.loads(head)
    header["body_sha256"] = hashlib.sha256(body).hexdigest()
    cp.write_bytes(orjson.dumps(header) + b"\n" + body)


def _move_last_bar(content: dict[str, Any]) -> None:
    content["book"]["last_bar_ts"] += 200 * DAY_MS


def _add_pnl(content: dict[str, Any]) -> None:
    asset = content["book"]["closed"]["assets"]["ETHUSDT"]
    key = next(k for k, v in sorted(asset.items()) if type(v) is float and v != 0.0)
    asset[key] += 1_000.0


@pytest.mark.parametrize(
    ("edit", "recheck_lines", "problem"),
    [
        (_move_last_bar, 0, "bar_ts"),  # the identity check, even without a recomputation
        (_add_pnl, 100_000, "book.closed.assets.ETHUSDT"),
    ],
    ids=["last_bar_ts+200d", "pnl+1000"],
)
def test_an_edited_checkpoint_with_its_hash_recomputed_is_ignored(
    tmp_path: Path, edit: Callable[[dict[str, Any]], None], recheck_lines: int, problem: str
) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path / "reports", lines, 30)
    _edit_checkpoint(path, edit)
    book = _book()
    recovery = recover(path, book, recheck_lines=recheck_lines)
    recovery.journal.close()
    assert recovery.checkpoint_problem is not None and problem in recovery.checkpoint_problem
    assert recovery.resumed_lines == 0 and recovery.live_state is None
    assert_same_state(book, full_recovery(path, tmp_path)[0], lines)
    found = check_checkpoint(path, _book())
    assert found is not None and problem in found


def test_an_untouched_checkpoint_passes_the_recomputation_and_keeps_its_live_state(
    tmp_path: Path,
) -> None:
    lines = sample_lines()
    path = checkpointed(tmp_path / "reports", lines, 30)
    _edit_checkpoint(path, lambda content: content.update(live={"kept": True}))
    book = _book()
    recovery = recover(path, book)
    recovery.journal.close()
    assert recovery.checkpoint_problem is None
    assert recovery.live_state == {"kept": True}
    assert check_checkpoint(path, _book()) is None
    assert_same_state(book, full_recovery(path, tmp_path)[0], lines)


@given(
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.floats(-0.05, 0.05, allow_nan=False)), max_size=30
    )
)
def test_every_line_the_broker_writes_adds_up(steps: list[tuple[int, float]]) -> None:
    for line in random_lines(steps):
        assert fill_arithmetic_problem(line) is None


def _independent_pnl(line: dict[str, Any]) -> float:
    """Net PnL written out long-hand: what the trade made, less both fees."""
    if line["direction"] == "long":
        gross = line["qty"] * line["price"] - line["qty"] * line["entry_price"]
    else:
        gross = line["qty"] * line["entry_price"] - line["qty"] * line["price"]
    return gross - line["entry_fee_usd"] - line["fee_usd"]


@pytest.mark.parametrize(
    ("field", "delta", "problem"),
    [
        ("pnl_usd", 500.0, "pnl_usd"),
        ("fee_usd", 0.5, "fee_usd"),
        ("notional_usd", 10.0, "notional"),
    ],
)
def test_a_past_line_whose_arithmetic_does_not_hold_refuses_the_start_naming_it(
    tmp_path: Path, field: str, delta: float, problem: str
) -> None:
    lines = sample_lines()
    closes = [i for i, line in enumerate(lines) if line["action"] == "close"]
    target = closes[len(closes) // 2]
    for i in closes:
        assert lines[i]["pnl_usd"] == pytest.approx(_independent_pnl(lines[i]), rel=1e-9)
    lines[target] = {**lines[target], field: lines[target][field] + delta}
    path = tmp_path / "trades.jsonl"
    write_lines(path, lines)
    with pytest.raises(JournalError, match=problem) as refused:
        Journal.open(path, Book().apply)
    assert f"line {target + 1}" in str(refused.value)
