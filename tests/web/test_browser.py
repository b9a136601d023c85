"""Headless Chromium on `chloe web`: a fill appended to the journal appears on the open page
within seconds, without a reload; at 1280 px no table is wider than the viewport."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from engine_alpha.core.units import HOUR_MS
from tests.dashboard.conftest import Replay
from tests.web.cdp import Browser
from tests.web.conftest import copy_reports, start_web, stop

pytestmark = pytest.mark.slow  # a replay, `chloe web` and a browser


def _next_open(journal: Path) -> dict[str, Any]:
    """A valid next fill: an asset flat at the end opens a position an hour after the last bar."""
    lines = [orjson.loads(x) for x in journal.read_bytes().splitlines()]
    open_now: dict[str, bool] = {}
    for line in lines:
        open_now[line["symbol"]] = line["action"] == "open"
    last = lines[-1]
    template = next(
        x for x in reversed(lines) if x["action"] == "open" and not open_now[x["symbol"]]
    )
    symbol, bar_ts = template["symbol"], last["bar_ts"] + HOUR_MS
    seq = last["seq"] + 1
    return {
        **template,
        "seq": seq,
        "group_end_seq": seq,
        "bar_ts": bar_ts,
        "signal_bar_ts": bar_ts - HOUR_MS,
        "expires_bar_ts": template["expires_bar_ts"] - template["bar_ts"] + bar_ts,
        "fill_id": f"{symbol}-{bar_ts}-open",
        "trade_id": f"{symbol}-{bar_ts}",
    }


def test_a_new_fill_appears_without_a_reload_and_no_table_overflows_1280px(
    web_replay: Replay, tmp_path: Path
) -> None:
    reports = copy_reports(web_replay, tmp_path / "reports")
    web = start_web(web_replay, reports=reports)
    try:
        asyncio.run(_browse(web.url, reports, tmp_path / "profile"))
    finally:
        assert stop(web) == 0


async def _browse(url: str, reports: Path, profile: Path) -> None:
    journal = reports / "trades.jsonl"
    before = len(journal.read_bytes().splitlines())
    status_js = "JSON.parse(document.getElementById('chloe-status').textContent)"
    async with Browser(profile) as browser:
        await browser.load(url)
        text = await browser.evaluate("document.body.innerText")
        assert f"journal fills {before}" in text
        widths = await browser.evaluate(
            "[window.innerWidth, document.documentElement.clientWidth, "
            "Array.from(document.querySelectorAll('table')).map(t => "
            "[t.closest('section,div')?.id || t.className, "
            "Math.ceil(t.getBoundingClientRect().width)])]"
        )
        window, viewport, tables = widths  # the viewport: the window less a scroll bar
        assert window == 1280 and viewport > 1200 and len(tables) >= 3
        too_wide = [t for t in tables if t[1] > viewport]
        assert not too_wide, f"tables wider than the {viewport} px viewport: {too_wide}"
        await browser.evaluate("window.__same_page = 1")
        open_before = await browser.evaluate(f"{status_js}.trades.open_positions")

        fill = _next_open(journal)
        with journal.open("ab") as f:
            f.write(orjson.dumps(fill) + b"\n")
        appended = time.monotonic()
        while time.monotonic() - appended < 15:
            text = await browser.evaluate("document.body.innerText")
            if f"journal fills {before + 1}" in text:
                break
            await asyncio.sleep(0.25)
        else:
            raise AssertionError("the new fill did not appear within 15 s")
        assert time.monotonic() - appended < 8  # the page polls every 2 s
        assert await browser.evaluate("window.__same_page") == 1  # no reload happened
        # the page's figures are the new journal's: one more open position, that asset's
        status = await browser.evaluate(status_js)
        assert status["journal_fills"] == before + 1
        assert status["trades"]["open_positions"] == open_before + 1
        assert status["assets"][fill["symbol"]]["open_exposure_usd"] == fill["notional_usd"]
