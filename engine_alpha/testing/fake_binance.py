"""A Binance-compatible fake exchange on 127.0.0.1: recorded markets, CSV klines, a clock, faults.

It serves the three public spot endpoints Chloe's live feed uses, shaped like Binance's answers:

- `GET /api/v3/exchangeInfo`: the recorded JSON file, `serverTime` set to the clock's now;
- `GET /api/v3/time`: `{"serverTime": now_ms}`;
- `GET /api/v3/klines`: rows `[openTime, "o", "h", "l", "c", "v", closeTime, "quoteVolume", trades,
  "takerBuyBase", "takerBuyQuote", "0"]` from `<SYMBOL>-<interval>.csv` files. Like Binance, the
  answer includes the FORMING bar (open <= now < close) with partial values (the row's open and a
  close "so far"), so a client must drop it by time; no bar opening after now is ever served.
  `startTime`/`endTime` select open times in [startTime, endTime]; `limit` defaults to 500 and is
  capped at 1000; with `startTime` the first `limit` rows are returned, otherwise the last.

Time comes from a `FakeClock` (real, manual or fast). Faults (`FAULT_KINDS`: HTTP 400 -1121,
500 -1001, 503, 429 with Retry-After, a slow answer, a truncated JSON body, and on klines a missing,
duplicated, misplaced or impossible bar) are programmed per request, from a test
(`fake.faults.add(kind="http_500", path="/api/v3/klines", symbol="BTCUSDT", times=2)`) or from
another process through the admin endpoints (`POST /admin/faults` with the same fields as JSON,
`DELETE /admin/faults`, `GET /admin/requests`, `GET|POST /admin/clock` with `set_ms`/`advance_ms`).

Run it as `python -m engine_alpha.testing.fake_binance --data DIR --port N`; it prints its API base
URL (`http://127.0.0.1:N/api/v3`) on the first line of stdout and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import bisect
import json
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from engine_alpha.config.models import timeframe_ms
from engine_alpha.core.units import DAY_MS, HOUR_MS

__all__ = [
    "API_PREFIX",
    "EXCHANGE_INFO_PATH",
    "FAULT_KINDS",
    "KLINES_PATH",
    "TIME_PATH",
    "FakeBinance",
    "FakeClock",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "RequestRecord",
    "main",
]

API_PREFIX: Final = "/api/v3"
KLINES_PATH: Final = "/api/v3/klines"
TIME_PATH: Final = "/api/v3/time"
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"

FaultKind = Literal[
    "http_400",
    "http_500",
    "http_503",
    "http_429",
    "slow",
    "malformed_json",
    "missing_bar",
    "duplicate_bar",
    "out_of_order_bar",
    "bad_bar",
]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
_DATA_FAULTS: Final = frozenset({"missing_bar", "duplicate_bar", "out_of_order_bar", "bad_bar"})

_REQUEST_LOG_SIZE: Final = 10_000
_DEFAULT_LIMIT: Final = 500
_MAX_LIMIT: Final = 1000
_INTERNAL_ERROR: Final = {
    "code": -1001,
    "msg": "Internal error; unable to process your request. Please try again.",
}
_TOO_MANY_REQUESTS: Final = {
    "code": -1003,
    "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE.",
}
_INVALID_SYMBOL: Final = {"code": -1121, "msg": "Invalid symbol."}
_INVALID_INTERVAL: Final = {"code": -1120, "msg": "Invalid interval."}

Row = list[Any]  # one klines row as Binance sends it


class FakeClock:
    """The exchange's clock in UTC ms: real, manual (`set`, `advance`) or fast (N x real time).

    `speed` is how many exchange milliseconds pass per real millisecond: 0 freezes the clock (only
    `set`/`advance` move it), 1 is real time, 36 000 plays one hour every 0.1 s. Thread-safe.
    """

    def __init__(
        self,
        start_ms: int | None = None,
        *,
        speed: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base_ms = int(time.time() * 1000) if start_ms is None else start_ms
        self._anchor_s = monotonic()
        self.speed = speed

    @classmethod
    def real(cls) -> FakeClock:
        """Wall-clock time."""
        return cls(None, speed=1.0)

    @classmethod
    def manual(cls, start_ms: int) -> FakeClock:
        """A frozen clock at `start_ms`, moved only by `set` and `advance`."""
        return cls(start_ms, speed=0.0)

    @classmethod
    def fast(cls, start_ms: int, speed: float) -> FakeClock:
        """A clock that starts at `start_ms` and runs `speed` times faster than real time."""
        return cls(start_ms, speed=speed)

    def now_ms(self) -> int:
        with self._lock:
            elapsed_s = self._monotonic() - self._anchor_s
            return self._base_ms + round(elapsed_s * 1000.0 * self.speed)

    def set(self, ms: int) -> None:
        with self._lock:
            self._base_ms = ms
            self._anchor_s = self._monotonic()

    def advance(self, ms: int) -> None:
        with self._lock:
            self._base_ms += ms


@dataclass(slots=True)
class Fault:
    """One programmed fault: what goes wrong, on which requests, how often (None: until cleared).

    `ts_ms` picks the bar of a data fault (default: the last closed bar of the answer); a data fault
    only fires on (and is only used up by) an answer that contains that bar.
    """

    kind: FaultKind
    path: str | None = None
    symbol: str | None = None
    times: int | None = 1
    ts_ms: int | None = None
    retry_after_s: int = 1
    delay_s: float = 30.0

    def applies_to(self, path: str, symbol: str | None) -> bool:
        if self.kind in _DATA_FAULTS and path != KLINES_PATH:
            return False
        if self.path is not None and self.path != path:
            return False
        return self.symbol is None or self.symbol == symbol


class FaultPlan:
    """The faults waiting to fire, in the order they were added; `fired` counts them by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: Counter[str] = Counter()

    def add(
        self,
        kind: FaultKind,
        *,
        path: str | None = None,
        symbol: str | None = None,
        times: int | None = 1,
        ts_ms: int | None = None,
        retry_after_s: int = 1,
        delay_s: float = 30.0,
    ) -> Fault:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 or None (until cleared), got {times}")
        fault = Fault(kind, path, symbol, times, ts_ms, retry_after_s, delay_s)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take(
        self, path: str, symbol: str | None, accept: Callable[[Fault], bool] = lambda _f: True
    ) -> Fault | None:
        """Use up one firing of the first fault that applies and that `accept` agrees to."""
        with self._lock:
            for fault in self._faults:
                if fault.applies_to(path, symbol) and accept(fault):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    self.fired[fault.kind] += 1
                    return fault
        return None


@dataclass(slots=True, frozen=True)
class RequestRecord:
    """One API request as the fake saw it, with the clock's time."""

    path: str
    params: dict[str, str]
    now_ms: int


@dataclass(slots=True)
class _Response:
    status: int
    body: bytes
    headers: dict[str, str]
    delay_s: float = 0.0


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> _Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _Response(
        status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
    )


class _Candles:
    """The CSV rows of one symbol and interval: open times and the five decimal strings."""

    def __init__(self, path: Path, interval_ms: int) -> None:
        self.interval_ms = interval_ms
        self.ts: list[int] = []
        self.values: list[tuple[str, str, str, str, str]] = []
        with path.open(encoding="utf-8") as lines:
            next(lines, None)
            for line in lines:
                parts = line.strip().split(",")
                if len(parts) == 6:
                    self.ts.append(int(parts[0]))
                    self.values.append((parts[1], parts[2], parts[3], parts[4], parts[5]))

    def select(self, start: int | None, end: int | None, limit: int, now_ms: int) -> list[Row]:
        hi = bisect.bisect_right(self.ts, now_ms if end is None else min(end, now_ms))
        if start is not None:
            lo = bisect.bisect_left(self.ts, start)
            idx = range(lo, min(hi, lo + limit))
        else:
            idx = range(max(0, hi - limit), hi)
        return [self._row(i, now_ms) for i in idx]

    def _row(self, i: int, now_ms: int) -> Row:
        ts, tf = self.ts[i], self.interval_ms
        o, h, lo, c, v = self.values[i]
        if ts + tf > now_ms:  # the forming bar: the open, and a close and volume "so far"
            part = (now_ms - ts) / tf
            close = float(o) + (float(c) - float(o)) * part
            h, lo = _dec(max(float(o), close)), _dec(min(float(o), close))
            c, v = _dec(close), _dec(float(v) * part)
        quote = _dec(float(v) * float(c))
        return [ts, o, h, lo, c, v, ts + tf - 1, quote, 0, "0", "0", "0"]


def _dec(x: float) -> str:
    return f"{x:.8f}".rstrip("0").rstrip(".") or "0"


def _apply_data_fault(fault: Fault, rows: list[Row], ts_ms: int) -> list[Row]:
    i = next(k for k, row in enumerate(rows) if row[0] == ts_ms)
    rows = [list(row) for row in rows]
    if fault.kind == "missing_bar":
        del rows[i]
    elif fault.kind == "duplicate_bar":
        rows.insert(i + 1, list(rows[i]))
    elif fault.kind == "out_of_order_bar":
        rows.append(rows.pop(i))
    else:  # bad_bar: a high below the close
        rows[i][2] = _dec(float(rows[i][4]) * 0.99)
    return rows


class FakeBinance:
    """The fake exchange: `start()` returns the API base URL, `stop()` ends it; context manager."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        exchange_info: Path | str | None = None,
        clock: FakeClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.data_dir = Path(data_dir)
        info_path = (
            Path(exchange_info)
            if exchange_info is not None
            else self.data_dir.parent / "binance" / "exchangeInfo.json"
        )
        self._exchange_info: dict[str, Any] = json.loads(info_path.read_text(encoding="utf-8"))
        self._listed = {s["symbol"] for s in self._exchange_info.get("symbols", [])}
        self.clock = clock if clock is not None else FakeClock.real()
        self.faults = FaultPlan()
        self.request_log: deque[RequestRecord] = deque(maxlen=_REQUEST_LOG_SIZE)  # the latest
        self._counts: Counter[tuple[str, str | None]] = Counter()
        self._candles: dict[tuple[str, str], _Candles | None] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake exchange is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    def start(self) -> str:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(self._address, _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},  # how soon `stop()` is noticed
                name="fake-binance",
                daemon=True,
            )
            self._thread.start()
        return self.base_url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            self._stopping.set()
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeBinance:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- assertions

    def requests(self, path: str, symbol: str | None = None) -> int:
        """How many requests reached `path` (optionally for one `symbol`)."""
        with self._lock:
            return sum(n for (p, s), n in self._counts.items() if p == path and symbol in (None, s))

    def request_counts(self) -> dict[str, int]:
        """Requests per API path."""
        with self._lock:
            counts: Counter[str] = Counter()
            for (path, _), n in self._counts.items():
                counts[path] += n
            return dict(counts)

    def reset_requests(self) -> None:
        with self._lock:
            self._counts.clear()
            self.request_log.clear()

    # ---- request handling (called from the server threads)

    def handle(self, method: str, target: str, body: bytes) -> _Response:
        url = urlsplit(target)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path.startswith("/admin/"):
            return self._admin(method, url.path, body)
        if not url.path.startswith(API_PREFIX):
            return _json(404, {"code": -1, "msg": f"no such path {url.path}"})
        now = self.clock.now_ms()
        symbol = params.get("symbol")
        with self._lock:
            self._counts[url.path, symbol] += 1
            self.request_log.append(RequestRecord(url.path, params, now))
        fault = self.faults.take(url.path, symbol, lambda f: f.kind not in _DATA_FAULTS)
        if fault is not None and fault.kind not in {"slow", "malformed_json"}:
            return _http_fault(fault)
        response = self._route(method, url.path, params, now)
        if fault is not None and fault.kind == "slow":
            response.delay_s = fault.delay_s
        elif fault is not None:  # malformed_json: a body cut in the middle
            response.body = response.body[: max(1, len(response.body) // 2)]
        return response

    def _route(self, method: str, path: str, params: dict[str, str], now: int) -> _Response:
        if method != "GET":
            return _json(405, {"code": -1, "msg": f"{method} not allowed"})
        if path == TIME_PATH:
            return _json(200, {"serverTime": now})
        if path == f"{API_PREFIX}/ping":
            return _json(200, {})
        if path == EXCHANGE_INFO_PATH:
            return _json(200, {**self._exchange_info, "serverTime": now})
        if path == KLINES_PATH:
            return self._klines(params, now)
        return _json(404, {"code": -1, "msg": f"no such path {path}"})

    def _klines(self, params: dict[str, str], now: int) -> _Response:
        symbol, interval = params.get("symbol", ""), params.get("interval", "")
        try:
            start = _int_param(params, "startTime")
            end = _int_param(params, "endTime")
            limit = min(_MAX_LIMIT, _int_param(params, "limit") or _DEFAULT_LIMIT)
        except ValueError as exc:
            return _json(400, {"code": -1100, "msg": str(exc)})
        if not symbol.isalnum():
            return _json(400, _INVALID_SYMBOL)
        try:
            candles = self._load(symbol, interval)
        except ValueError:
            return _json(400, _INVALID_INTERVAL)
        if candles is None and symbol not in self._listed:
            return _json(400, _INVALID_SYMBOL)
        rows = [] if candles is None else candles.select(start, end, limit, now)
        closed = [r[0] for r in rows if r[6] < now]
        fault = self.faults.take(
            KLINES_PATH, symbol, lambda f: f.kind in _DATA_FAULTS and _target(f, closed) is not None
        )
        ts = None if fault is None else _target(fault, closed)
        if fault is not None and ts is not None:
            rows = _apply_data_fault(fault, rows, ts)
        return _json(200, rows)

    def _load(self, symbol: str, interval: str) -> _Candles | None:
        key = (symbol, interval)
        with self._lock:
            if key not in self._candles:
                interval_ms = timeframe_ms(interval)
                path = self.data_dir / f"{symbol}-{interval}.csv"
                self._candles[key] = _Candles(path, interval_ms) if path.is_file() else None
            return self._candles[key]

    def _admin(self, method: str, path: str, body: bytes) -> _Response:
        try:
            payload = json.loads(body or b"{}")
            if path == "/admin/requests" and method == "GET":
                return _json(200, {"counts": self.request_counts()})
            if path == "/admin/clock":
                if method == "POST":
                    if "set_ms" in payload:
                        self.clock.set(int(payload["set_ms"]))
                    self.clock.advance(int(payload.get("advance_ms", 0)))
                return _json(200, {"now_ms": self.clock.now_ms()})
            if path == "/admin/faults":
                if method == "POST":
                    self.faults.add(**payload)
                elif method == "DELETE":
                    self.faults.clear()
                return _json(200, {"faults": [asdict(f) for f in self.faults.pending()]})
        except (ValueError, TypeError) as exc:
            return _json(400, {"code": -1, "msg": str(exc)})
        return _json(404, {"code": -1, "msg": f"no such admin path {method} {path}"})


def _target(fault: Fault, closed: list[int]) -> int | None:
    if fault.ts_ms is not None:
        return fault.ts_ms if fault.ts_ms in closed else None
    return closed[-1] if closed else None


def _int_param(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ValueError(
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]+$'."
        )
    return int(raw)


def _http_fault(fault: Fault) -> _Response:
    if fault.kind == "http_400":
        return _json(400, _INVALID_SYMBOL)
    if fault.kind == "http_500":
        return _json(500, _INTERNAL_ERROR)
    if fault.kind == "http_429":
        return _json(429, _TOO_MANY_REQUESTS, {"Retry-After": str(fault.retry_after_s)})
    return _Response(503, b"Service Unavailable.", {"Content-Type": "text/plain"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: FakeBinance
    ) -> None:
        self.app = app
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-binance"
    timeout = 60

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        app = self.server.app  # type: ignore[attr-defined]  # set by _Server
        length = int(self.headers.get("Content-Length") or 0)
        response = app.handle(method, self.path, self.rfile.read(length) if length else b"")
        if response.delay_s and app._stopping.wait(response.delay_s):
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except OSError:  # the client gave up (timeout) and closed the socket
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests count requests through `FakeBinance.requests`."""


def _parse_clock(spec: str, start_ms: int | None, default_start_ms: int) -> FakeClock:
    kind, _, arg = spec.partition(":")
    if kind == "real":
        return FakeClock.real()
    if kind == "fast":
        return FakeClock.fast(start_ms or default_start_ms, float(arg))
    if kind == "start":
        return FakeClock(int(arg), speed=1.0)
    if kind == "manual":
        return FakeClock.manual(int(arg) if arg else start_ms or default_start_ms)
    raise ValueError(f"--clock {spec!r}: use real, fast:SPEED, start:MS or manual[:MS]")


def _default_start_ms(data_dir: Path) -> int:
    """30 days before the last bar of the first CSV, so a warm-up finds history."""
    for path in sorted(data_dir.glob("*-1h.csv")):
        candles = _Candles(path, HOUR_MS)
        if candles.ts:
            return candles.ts[-1] - 30 * DAY_MS
    return int(time.time() * 1000)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m engine_alpha.testing.fake_binance --data DIR --port N [--clock ...]`."""
    parser = argparse.ArgumentParser(prog="fake-binance", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/ohlcv"), help="candle CSV dir")
    parser.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--exchange-info", type=Path, default=None, help="recorded JSON file")
    parser.add_argument(
        "--clock", default="real", help="real | fast:SPEED | start:MS | manual[:MS]"
    )
    parser.add_argument("--start-ms", type=int, default=None, help="start of fast/manual clocks")
    args = parser.parse_args(argv)
    try:
        clock = _parse_clock(args.clock, args.start_ms, _default_start_ms(args.data))
        fake = FakeBinance(
            args.data, exchange_info=args.exchange_info, clock=clock, host=args.host, port=args.port
        )
        fake.start()
    except (ValueError, OSError) as exc:
        where = f" ({args.host}:{args.port})" if isinstance(exc, OSError) else ""
        print(f"fake-binance: cannot start{where}: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with fake:
        print(fake.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
