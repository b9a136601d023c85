"""`reports/events.jsonl`: the sink keeps error-level events, and they are counted per asset."""

from __future__ import annotations

from pathlib import Path

import orjson
import structlog

from engine_alpha.ops.events import EventFileSink, errors_by_symbol, event_symbol
from engine_alpha.ops.reports_reader import load_reports


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


def _error(event: str, **fields: str) -> dict[str, str]:
    return {"level": "error", "event": event, **fields}


def test_a_refused_input_that_changed_nothing_is_not_a_critical_error() -> None:
    events = [
        _error("reload_rejected", problem="multi_asset_paper_config.json: invalid JSON"),
        _error("config_rejected", problem="bad"),
        _error("replay_data_missing", problem="no data"),
    ]
    assert errors_by_symbol(events) == {}
    assert errors_by_symbol([*events, _error("task_failed", task="strategy:BTCUSDT")]) == {
        "BTCUSDT": 1
    }


def test_errors_count_since_the_assets_last_enable_or_acknowledgement() -> None:
    died = _error("task_failed", task="strategy:BTCUSDT")
    wrote = {"level": "critical", "event": "write_failed", "file": "trades.jsonl"}
    enabled = {"level": "info", "event": "asset_enabled", "symbol": "BTCUSDT", "forced": False}
    events = [died, died, wrote, _error("feed_dead", symbol="ETHUSDT")]
    assert errors_by_symbol(events) == {"BTCUSDT": 2, None: 1, "ETHUSDT": 1}
    events += [enabled]
    assert errors_by_symbol(events) == {None: 1, "ETHUSDT": 1}
    events += [died]
    assert errors_by_symbol(events) == {"BTCUSDT": 1, None: 1, "ETHUSDT": 1}
    events += [{"level": "info", "event": "errors_acknowledged", "symbol": "ETHUSDT"}]
    assert errors_by_symbol(events) == {"BTCUSDT": 1, None: 1}
    events += [{"level": "info", "event": "errors_acknowledged", "symbol": None}]
    assert errors_by_symbol(events) == {}
    assert errors_by_symbol([*events, wrote]) == {None: 1}
