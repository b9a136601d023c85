"""The fake exchange answers like Binance: time, exchangeInfo, klines with the forming bar."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from engine_alpha.testing.fake_binance import FakeBinance, FakeClock
from tests.live.conftest import DATA_DIR, DAY0_MS, EXCHANGE_INFO, HOUR_MS, START_MS, csv_row


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def get_json(url: str) -> Any:
    status, _, body = get(url)
    assert status == 200, body
    return json.loads(body)


def klines(fake: FakeBinance, query: str) -> list[list[Any]]:
    rows: list[list[Any]] = get_json(f"{fake.base_url}/klines?symbol=BTCUSDT&interval=1h{query}")
    return rows


def send(url: str, method: str, payload: object = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_time_is_the_fake_clock(fake: FakeBinance) -> None:
    assert get_json(f"{fake.base_url}/time") == {"serverTime": START_MS}
    fake.clock.advance(1234)
    assert get_json(f"{fake.base_url}/time") == {"serverTime": START_MS + 1234}


def test_exchange_info_is_the_recording_with_the_clock_as_server_time(fake: FakeBinance) -> None:
    recorded = json.loads(EXCHANGE_INFO.read_text())
    info = get_json(f"{fake.base_url}/exchangeInfo")
    assert info["serverTime"] == START_MS
    assert info["symbols"] == recorded["symbols"]
    assert len(info["symbols"]) == 12


def test_klines_rows_have_binance_shape_and_csv_values(fake: FakeBinance) -> None:
    rows = klines(fake, f"&startTime={DAY0_MS - 2 * HOUR_MS}&limit=2")
    assert [row[0] for row in rows] == [DAY0_MS - 2 * HOUR_MS, DAY0_MS - HOUR_MS]
    first = rows[0]
    assert len(first) == 12
    assert first[6] == first[0] + HOUR_MS - 1
    assert tuple(float(x) for x in first[1:6]) == csv_row("BTCUSDT", first[0])
    assert all(isinstance(x, str) for x in first[1:6])


def test_klines_include_the_forming_bar_with_partial_values(fake: FakeBinance) -> None:
    rows = klines(fake, f"&startTime={DAY0_MS - HOUR_MS}")
    assert [row[0] for row in rows] == [DAY0_MS - HOUR_MS, DAY0_MS]  # 00:00 is still forming
    o, _, _, c, v = csv_row("BTCUSDT", DAY0_MS)
    forming = rows[-1]
    assert float(forming[1]) == o
    assert float(forming[4]) == pytest.approx(o + (c - o) / 2)  # half-way through the hour
    assert float(forming[5]) == pytest.approx(v / 2)


def test_klines_never_serve_a_bar_opening_after_now(fake: FakeBinance) -> None:
    assert klines(fake, f"&startTime={DAY0_MS + HOUR_MS}") == []
    fake.clock.set(DAY0_MS + HOUR_MS)  # exactly the open of 01:00: it is served, as forming
    assert [row[0] for row in klines(fake, f"&startTime={DAY0_MS + HOUR_MS}")] == [
        DAY0_MS + HOUR_MS
    ]


def test_klines_start_time_end_time_and_limit_select_like_binance(fake: FakeBinance) -> None:
    assert len(klines(fake, "")) == 500  # default: the latest 500 up to now
    assert klines(fake, "")[-1][0] == DAY0_MS
    assert len(klines(fake, "&limit=5000")) == 1000  # capped at 1000
    mid_bar = DAY0_MS - 3 * HOUR_MS + 1  # a start inside a bar begins at the next open
    assert [r[0] for r in klines(fake, f"&startTime={mid_bar}&limit=2")] == [
        DAY0_MS - 2 * HOUR_MS,
        DAY0_MS - HOUR_MS,
    ]
    ended = klines(fake, f"&endTime={DAY0_MS - 5 * HOUR_MS}&limit=3")
    assert [r[0] for r in ended] == [DAY0_MS - h * HOUR_MS for h in (7, 6, 5)]


def test_bad_requests_get_binance_error_codes(fake: FakeBinance) -> None:
    status, _, body = get(f"{fake.base_url}/klines?symbol=NOPEUSDT&interval=1h")
    assert (status, json.loads(body)["code"]) == (400, -1121)
    status, _, body = get(f"{fake.base_url}/klines?symbol=BTCUSDT&interval=7x")
    assert (status, json.loads(body)["code"]) == (400, -1120)


def test_http_faults_fire_the_given_number_of_times_and_requests_are_counted(
    fake: FakeBinance,
) -> None:
    fake.faults.add(path="/api/v3/klines", symbol="BTCUSDT", kind="http_500", times=2)
    url = f"{fake.base_url}/klines?symbol=BTCUSDT&interval=1h&limit=1"
    status, _, body = get(url)
    assert (status, json.loads(body)["code"]) == (500, -1001)
    assert get(f"{fake.base_url}/klines?symbol=ETHUSDT&interval=1h&limit=1")[0] == 200
    assert get(url)[0] == 500
    assert get(url)[0] == 200
    assert fake.requests("/api/v3/klines", "BTCUSDT") == 3
    assert fake.requests("/api/v3/klines") == 4


def test_429_carries_retry_after_and_503_and_malformed_json(fake: FakeBinance) -> None:
    fake.faults.add("http_429", retry_after_s=7)
    status, headers, _ = get(f"{fake.base_url}/time")
    assert (status, headers["Retry-After"]) == (429, "7")
    fake.faults.add("http_503")
    assert get(f"{fake.base_url}/time")[0] == 503
    fake.faults.add("malformed_json")
    status, _, body = get(f"{fake.base_url}/time")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


@pytest.mark.parametrize(
    ("kind", "expected_hours"),
    [
        ("missing_bar", [-3, -1, 0]),
        ("duplicate_bar", [-3, -2, -2, -1, 0]),
        ("out_of_order_bar", [-3, -1, 0, -2]),
    ],
)
def test_data_faults_act_on_the_given_bar(
    fake: FakeBinance, kind: str, expected_hours: list[int]
) -> None:
    fake.faults.add(kind, ts_ms=DAY0_MS - 2 * HOUR_MS)  # type: ignore[arg-type]
    rows = klines(fake, f"&startTime={DAY0_MS - 3 * HOUR_MS}")
    assert [(r[0] - DAY0_MS) // HOUR_MS for r in rows] == expected_hours
    assert fake.faults.pending() == []


def test_bad_bar_has_a_high_below_its_close_and_defaults_to_the_last_closed_bar(
    fake: FakeBinance,
) -> None:
    fake.faults.add("bad_bar")
    rows = klines(fake, f"&startTime={DAY0_MS - 2 * HOUR_MS}")
    bad = rows[1]
    assert bad[0] == DAY0_MS - HOUR_MS
    assert float(bad[2]) < float(bad[4])


def test_a_data_fault_waits_for_an_answer_that_holds_its_bar(fake: FakeBinance) -> None:
    fake.faults.add("missing_bar", ts_ms=DAY0_MS - HOUR_MS)
    klines(fake, f"&startTime={DAY0_MS - 10 * HOUR_MS}&limit=2")
    assert len(fake.faults.pending()) == 1


def test_fast_clock_runs_n_times_real_time() -> None:
    now = [100.0]
    clock = FakeClock(DAY0_MS, speed=36_000.0, monotonic=lambda: now[0])
    now[0] += 0.1
    assert clock.now_ms() == DAY0_MS + HOUR_MS


def test_command_line_server_is_driven_through_the_admin_endpoints() -> None:
    command = [
        sys.executable,
        "-m",
        "engine_alpha.testing.fake_binance",
        "--data",
        str(DATA_DIR),
        "--exchange-info",
        str(EXCHANGE_INFO),
        "--port",
        "0",
        "--clock",
        f"manual:{START_MS}",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().strip()
            assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v3")
            admin = base_url.removesuffix("/api/v3") + "/admin"
            send(f"{admin}/faults", "POST", {"kind": "http_500", "path": "/api/v3/time"})
            assert get(f"{base_url}/time")[0] == 500
            assert send(f"{admin}/clock", "POST", {"advance_ms": HOUR_MS}) == {
                "now_ms": START_MS + HOUR_MS
            }
            assert get_json(f"{base_url}/time") == {"serverTime": START_MS + HOUR_MS}
            assert send(f"{admin}/requests", "GET") == {"counts": {"/api/v3/time": 2}}
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0
