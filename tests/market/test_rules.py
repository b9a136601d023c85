"""Market rules from Binance filters (file and ccxt share one parser) and exact rounding."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine_alpha.config.config_loader import ConfigError
from engine_alpha.market.rules import (
    MarketRules,
    MarketRulesError,
    floor_to_step,
    load_market_rules,
    market_rules_from_ccxt,
    round_price,
)

SAMPLE_INFO = Path(__file__).resolve().parents[2] / "data" / "binance" / "exchangeInfo.json"
PORTFOLIO = {
    "BTCUSDT", "ETHUSDT", "MATICUSDT", "AVAXUSDT", "DOGEUSDT", "XRPUSDT",
    "SOLUSDT", "BNBUSDT", "DOTUSDT", "ADAUSDT", "LINKUSDT", "ATOMUSDT",
}  # fmt: skip


def exchange_info(filters: list[dict[str, Any]], symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {"timezone": "UTC", "symbols": [{"symbol": symbol, "filters": filters}]}


PRICE = {"filterType": "PRICE_FILTER", "tickSize": "0.01000000"}
LOT = {"filterType": "LOT_SIZE", "minQty": "0.00001000", "stepSize": "0.00001000"}
NOTIONAL = {"filterType": "NOTIONAL", "minNotional": "5.00000000"}


def write_info(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "exchangeInfo.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_the_bundled_exchange_info_gives_the_rules_of_all_twelve_assets() -> None:
    rules = load_market_rules(SAMPLE_INFO)
    assert set(rules) == PORTFOLIO
    assert rules["BTCUSDT"] == MarketRules("BTCUSDT", 0.01, 0.00001, 0.00001, 5.0)
    assert rules["DOGEUSDT"] == MarketRules("DOGEUSDT", 0.00001, 1.0, 1.0, 5.0)
    assert rules["LINKUSDT"].tick_size == 0.001


def test_the_legacy_min_notional_filter_is_read_too(tmp_path: Path) -> None:
    legacy = {"filterType": "MIN_NOTIONAL", "minNotional": "10.00000000"}
    rules = load_market_rules(write_info(tmp_path, exchange_info([PRICE, LOT, legacy])))
    assert rules["BTCUSDT"].min_notional == 10.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ([], "'symbols' list"),
        ({"symbols": {}}, "'symbols' list"),
        ({"symbols": [{"filters": []}]}, r"symbols\[0\]"),
        (exchange_info([LOT, NOTIONAL]), "BTCUSDT: filters: no PRICE_FILTER filter"),
        (exchange_info([PRICE, NOTIONAL]), "no LOT_SIZE filter"),
        (exchange_info([PRICE, LOT]), "no MIN_NOTIONAL filter"),
        (exchange_info([{**PRICE, "tickSize": "abc"}, LOT, NOTIONAL]), "PRICE_FILTER.tickSize"),
        (exchange_info([{**PRICE, "tickSize": "0.00000000"}, LOT, NOTIONAL]), "must be > 0"),
        (exchange_info([PRICE, {**LOT, "minQty": "-1"}, NOTIONAL]), "LOT_SIZE.minQty"),
        ({"symbols": [{"symbol": "BTCUSDT", "filters": "none"}]}, "'filters' must be a list"),
    ],
)
def test_bad_content_is_one_clear_error_naming_the_file(
    tmp_path: Path, content: object, message: str
) -> None:
    path = write_info(tmp_path, content)
    with pytest.raises(MarketRulesError, match=message) as err:
        load_market_rules(path)
    assert str(err.value).startswith(str(path))


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MarketRulesError, match="cannot read"):
        load_market_rules(tmp_path / "nope.json")


def test_ccxt_markets_are_read_from_their_raw_binance_filters_and_futures_are_skipped() -> None:
    raw = {"symbol": "BTCUSDT", "filters": [PRICE, LOT, NOTIONAL]}
    futures_raw = {"symbol": "BTCUSDT", "filters": [{**PRICE, "tickSize": "0.10"}, LOT, NOTIONAL]}
    markets = {
        "BTC/USDT": {"id": "BTCUSDT", "spot": True, "info": raw},
        "BTC/USDT:USDT": {"id": "BTCUSDT", "spot": False, "info": futures_raw},
    }
    assert market_rules_from_ccxt(markets) == {
        "BTCUSDT": MarketRules("BTCUSDT", 0.01, 0.00001, 0.00001, 5.0)
    }


def test_a_ccxt_market_without_raw_info_is_a_clear_error() -> None:
    with pytest.raises(MarketRulesError, match="ccxt markets: BTC/USDT"):
        market_rules_from_ccxt({"BTC/USDT": {"id": "BTCUSDT"}})


@pytest.fixture
def exchange_info_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 that answers GET /api/v3/exchangeInfo with the sample."""
    body = SAMPLE_INFO.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/api/v3/exchangeInfo":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v3"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_rules_from_the_real_ccxt_client_equal_the_rules_from_the_file(
    exchange_info_server: str,
) -> None:
    ccxt = pytest.importorskip("ccxt")
    options = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}
    exchange = ccxt.binance({"options": options})
    exchange.urls["api"]["public"] = exchange_info_server
    try:
        markets = exchange.load_markets()
    finally:
        exchange.session.close()
    assert market_rules_from_ccxt(markets) == load_market_rules(SAMPLE_INFO)


# ---- rounding: exact on decimal steps


@pytest.mark.parametrize(
    ("qty", "step", "expected"),
    [
        (0.3, 0.1, 0.3),
        (0.30000000000000004, 0.1, 0.3),
        (0.7, 0.0001, 0.7),
        (1.23456789, 0.00001, 1.23456),
        (0.00000999, 0.00001, 0.0),
        (12.5, 0.5, 12.5),
        (12.49, 0.25, 12.25),
        (1234.9, 10.0, 1230.0),
        (0.0, 0.01, 0.0),
    ],
)
def test_floor_to_step_cuts_down_to_the_decimal_step(
    qty: float, step: float, expected: float
) -> None:
    assert floor_to_step(qty, step) == expected


@pytest.mark.parametrize(
    ("price", "tick", "side", "expected"),
    [
        (100.001, 0.01, "buy", 100.01),
        (100.009, 0.01, "sell", 100.0),
        (100.01, 0.01, "buy", 100.01),
        (100.01, 0.01, "sell", 100.01),
        (0.1 + 0.2, 0.1, "sell", 0.3),
        (0.1 + 0.2, 0.1, "buy", 0.4),  # 0.30000000000000004 is above 0.3: a buyer pays 0.4
        (0.0712345, 0.00001, "buy", 0.07124),
        (0.0712345, 0.00001, "sell", 0.07123),
    ],
)
def test_round_price_rounds_against_us(
    price: float, tick: float, side: str, expected: float
) -> None:
    assert round_price(price, tick, side) == expected


def test_market_rules_round_with_their_own_tick_and_step() -> None:
    rules = MarketRules("ETHUSDT", 0.01, 0.0001, 0.0001, 5.0)
    assert rules.floor_qty(0.123456) == 0.1234
    assert rules.round_price(1850.123, "buy") == 1850.13


@pytest.mark.parametrize("step", [0.0, -0.1, float("nan"), float("inf")])
def test_a_step_that_is_not_finite_and_positive_is_refused(step: float) -> None:
    with pytest.raises(ValueError, match="step"):
        floor_to_step(1.0, step)


def test_an_unknown_side_or_a_non_finite_input_is_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        round_price(1.0, 0.01, "long")
    with pytest.raises(ValueError, match="qty"):
        floor_to_step(float("nan"), 0.01)


STEPS = [1e-8, 1e-5, 1e-4, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 10.0, 5e-5]
amounts = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


def exact(x: float) -> Fraction:
    """The decimal a float prints as."""
    return Fraction(repr(x))


@given(amounts, st.sampled_from(STEPS))
def test_floor_to_step_is_a_multiple_of_the_step_not_above_the_input_within_one_step(
    qty: float, step: float
) -> None:
    result = floor_to_step(qty, step)
    assert result <= qty
    assert (exact(result) / exact(step)).denominator == 1
    assert 0 <= exact(qty) - exact(result) < exact(step)


@given(amounts.filter(lambda p: p > 0), st.sampled_from(STEPS), st.sampled_from(["buy", "sell"]))
def test_round_price_is_on_the_tick_against_us_within_one_tick(
    price: float, tick: float, side: str
) -> None:
    result = round_price(price, tick, side)
    assert (exact(result) / exact(tick)).denominator == 1
    assert abs(exact(result) - exact(price)) < exact(tick)
    assert result >= price if side == "buy" else result <= price


def test_a_market_rules_error_is_a_config_error_so_the_daemon_reports_it_cleanly() -> None:
    assert issubclass(MarketRulesError, ConfigError)
    assert issubclass(MarketRulesError, ValueError)
