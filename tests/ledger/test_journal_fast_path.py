"""Recovery's fast path (no pydantic per line) accepts only what FillLine accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast, get_args, get_origin

import annotated_types
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.ledger.journal import Journal, JournalError, _is_canonical
from engine_alpha.ledger.records import FillLine
from tests.ledger.factory import HOUR_MS, T0, JournalFactory, write_lines


def one_of_each() -> list[dict[str, Any]]:
    """Open and close lines, long and short, paper and observation."""
    factory = JournalFactory()
    factory.trade("ETHUSDT", bar_ts=T0, entry_price=2000.0, exit_price=1990.0)
    factory.trade("AVAXUSDT", bar_ts=T0, entry_price=20.0, exit_price=19.0, direction="short")
    factory.mode = "observation"
    factory.trade("SOLUSDT", bar_ts=T0 + HOUR_MS, entry_price=50.0, exit_price=51.0)
    return factory.lines


SAMPLES = one_of_each()


def violations() -> list[tuple[str, Any]]:
    """For every constrained or Literal field of FillLine, a value it must refuse."""
    cases: list[tuple[str, Any]] = []
    for name, info in FillLine.model_fields.items():
        if get_origin(info.annotation) is Literal:
            cases.append((name, "bogus"))
        for rule in info.metadata:
            if isinstance(rule, annotated_types.Gt):
                cases.append((name, rule.gt))
            elif isinstance(rule, annotated_types.Ge):
                cases.append((name, cast(int, rule.ge) - 1))
            elif isinstance(rule, annotated_types.Le):
                cases.append((name, cast(int, rule.le) + 1))
    return cases


def test_lines_as_the_journal_writes_them_take_the_fast_path() -> None:
    assert all(_is_canonical(line) for line in one_of_each())


@pytest.mark.parametrize(("field", "value"), violations())
def test_every_constraint_of_the_contract_is_enforced_at_recovery(
    tmp_path: Path, field: str, value: Any
) -> None:
    lines = one_of_each()
    index = 0 if field == "seq" else 1
    bad = {**lines[index], field: type(lines[index][field])(value)}
    assert not _is_canonical(bad)
    lines[index] = bad
    path = tmp_path / "trades.jsonl"
    write_lines(path, lines)
    with pytest.raises(JournalError, match=field):
        Journal.open(path)


def _value_for(annotation: Any) -> st.SearchStrategy[Any]:
    choices: list[st.SearchStrategy[Any]] = [
        st.floats(min_value=-2.0, max_value=12.0),
        st.integers(min_value=-2, max_value=12),
        st.booleans(),
        st.none(),
        st.text(max_size=3),
    ]
    if get_origin(annotation) is Literal:
        choices.append(st.sampled_from(get_args(annotation)))
    return st.one_of(choices)


@st.composite
def mutated_lines(draw: st.DrawFn) -> dict[str, Any]:
    line = dict(draw(st.sampled_from(SAMPLES)))
    for name in draw(st.lists(st.sampled_from(list(FillLine.model_fields)), max_size=3)):
        line[name] = draw(_value_for(FillLine.model_fields[name].annotation))
    return line


@given(mutated_lines())
def test_the_fast_path_never_accepts_what_fillline_refuses(line: dict[str, Any]) -> None:
    if _is_canonical(line):
        FillLine.model_validate(line)
