"""`reports/events.jsonl`: the sink keeps error-level events, and they are counted per asset."""

from __future__ import annotations

from pathlib import Path

import orjson
import structlog

from engine_alpha.rollout.events import EventFileSink, errors_by_symbol, event_symbol
from engine_alpha.rollout.reports import load_reports


def test_the_sink_records_error_and_critical_events_and_passes_every_event_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "reports" / "events.jsonl"
    sink = EventFileSink(path)
    assert path.exists() and path.read_bytes() == b""
    info = {"event": "fill", "level": "info", "symbol": "ETHUSDT"}
    error = {"event": "strategy_failed", "level": "critical", "symbol": "BTCUSDT", "n": object()}
    assert sink(None, "info", dict(info)) == info
    assert sink(None, "critical", error) is error
    sink.close()
    (record,) = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert (record["event"], record["level"], record["symbol"]) == (
        "strategy_failed",
        "critical",
        "BTCUSDT",
    )


def test_the_sink_works_inside_a_structlog_chain(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = EventFileSink(path)
    seen: list[dict[str, object]] = []

    def keep(_logger: object, _name: str, event_dict: dict[str, object]) -> str:
        seen.append(event_dict)
        return ""

    structlog.configure(
        processors=[structlog.processors.add_log_level, sink, keep],
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:
        log = structlog.get_logger("chloe.runner")
        log.error("task_failed", task="strategy:DOGEUSDT", error="boom")
        log.info("fill", symbol="DOGEUSDT")
    finally:
        structlog.reset_defaults()
        sink.close()
    assert [e["event"] for e in seen] == ["task_failed", "fill"]
    events = load_reports(tmp_path).events
    assert errors_by_symbol(events) == {"DOGEUSDT": 1}


def test_events_without_an_asset_count_for_the_portfolio() -> None:
    events = [
        {"level": "critical", "event": "write_failed"},
        {"level": "error", "event": "x", "task": "watchdog"},
        {"level": "warning", "event": "bar_gap", "symbol": "ETHUSDT"},
    ]
    assert errors_by_symbol(events) == {None: 2}
    assert event_symbol({"task": "strategy:SOLUSDT"}) == "SOLUSDT"
