"""`chloe data download` and `chloe data check`: bar files for replay and research.

`download` fills `<SYMBOL>-<timeframe>.csv` files from the exchange (engine_alpha/market/
download.py); `check` reports what each bar file of a directory holds, as replay would read it.
The data directory is `--data`, else the config's `feed.data_dir` (as `chloe research` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from engine_alpha.cli import folders
from engine_alpha.core.exit_codes import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:  # the market layer is imported when a command runs
    from engine_alpha.market.coverage import FileScan, Gap, Refusal
    from engine_alpha.market.download import DownloadRequest, SymbolReport

__all__ = ["register"]

_SHOWN: Final = 20  # gaps or refused rows listed per file; the rest are counted
_DOWNLOAD_ATTEMPTS: Final = 6  # a batch job waits a little longer for the exchange than the feed


def _utc_ms(text: str) -> int:
    """`2021-01-01` or `2021-01-01T06:00` (UTC unless an offset is given) in epoch ms."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a UTC date like 2021-01-01 or 2021-01-01T06:00, got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `data download` and `data check` to the `chloe` subcommands."""
    data = subparsers.add_parser("data", help="download bar history through ccxt; check bar files")
    actions = data.add_subparsers(dest="action", required=True)

    download = actions.add_parser(
        "download",
        help="closed bars from the exchange into <SYMBOL>-<timeframe>.csv (resumable)",
        description="Download closed bars through ccxt into the files replay and research read. "
        "A second run appends only what is missing.",
    )
    download.add_argument("--symbols", nargs="+", required=True, metavar="SYMBOL")
    download.add_argument("--timeframe", default="1h", help="a ccxt timeframe, 1m .. 1d (1h)")
    download.add_argument("--since", type=_utc_ms, required=True, help="first bar, UTC date")
    download.add_argument(
        "--until", type=_utc_ms, default=None, help="bars opening before this UTC time (now)"
    )
    download.add_argument("--exchange", default="binance", help="a ccxt exchange id (binance)")
    download.add_argument(
        "--api-url", default=None, help="another Binance-compatible API, e.g. chloe fake-exchange"
    )
    _add_data_options(download)
    download.set_defaults(handler=_cmd_download)

    check = actions.add_parser(
        "check", help="coverage, gaps and refused rows of every bar file in the data directory"
    )
    _add_data_options(check)
    check.add_argument("--json", action="store_true", help="one JSON object per file")
    check.set_defaults(handler=_cmd_check)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="bar CSV directory (default: feed.data_dir of the config)")
    parser.add_argument(
        "--config-dir", help="config directory (default: $CHLOE_CONFIG_DIR or ./config)"
    )


def _data_settings(args: argparse.Namespace, command: str) -> tuple[Path, float] | int:
    """The data directory and the price-jump bound: `--data` and the default bound, else the
    config's `feed.data_dir` and `feed.max_price_jump`; an exit code when the config fails."""
    from engine_alpha.config.config_loader import ConfigError, load_config
    from engine_alpha.config.models import DEFAULT_MAX_PRICE_JUMP

    if args.data:
        return Path(args.data), DEFAULT_MAX_PRICE_JUMP
    try:
        config = load_config(folders.config_dir(args))
    except ConfigError as exc:
        print(
            f"chloe data {command}: no --data, and the config is rejected:\n{exc}", file=sys.stderr
        )
        return EXIT_CONFIG
    feed = config.paper.feed
    return Path(feed.data_dir), feed.max_price_jump


# ---- download


def _cmd_download(args: argparse.Namespace) -> int:
    from engine_alpha.market.download import DownloadRequest

    settings = _data_settings(args, "download")
    if isinstance(settings, int):
        return settings
    data_dir, max_price_jump = settings
    if args.until is not None and args.until <= args.since:
        print("chloe data download: --until must be after --since", file=sys.stderr)
        return EXIT_CONFIG
    request = DownloadRequest(
        symbols=tuple(args.symbols),
        timeframe=args.timeframe,
        since_ms=args.since,
        data_dir=data_dir,
        until_ms=args.until,
        max_price_jump=max_price_jump,
    )
    return asyncio.run(_download(request, args.exchange, args.api_url))


async def _download(request: DownloadRequest, exchange_id: str, api_url: str | None) -> int:
    import structlog

    from engine_alpha.cli.progress import TerminalProgress
    from engine_alpha.market.download import Batch, Downloader, MarketCheckError
    from engine_alpha.market.exchange_client import ExchangeClient, UnknownExchangeError
    from engine_alpha.market.exchange_errors import FeedError
    from engine_alpha.ops.log_setup import configure_logging

    terminal = sys.stdout.isatty()
    configure_logging(level="warning" if terminal else "info")  # JSON lines unless a terminal
    log = structlog.get_logger()
    try:
        client = ExchangeClient(
            log=log, exchange_id=exchange_id, api_url=api_url, max_attempts=_DOWNLOAD_ATTEMPTS
        )
    except UnknownExchangeError as exc:
        print(f"chloe data download: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def on_batch(batch: Batch) -> None:
        log.info("data_batch_written", **asdict(batch))

    try:
        with TerminalProgress.on_stderr_tty("download", "bars") as progress:
            downloader = Downloader(client, request, on_batch=on_batch, on_progress=progress.show)
            reports = await downloader.run()
    except MarketCheckError as exc:
        print(f"chloe data download: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except FeedError as exc:
        print(f"chloe data download: the exchange did not answer: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"chloe data download: cannot write: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await client.close()
    step_ms = _step_ms(request.timeframe)
    for report in reports:
        log.info("data_download_done", **_report_fields(report))
        print(_describe_download(report, step_ms), file=sys.stdout if terminal else sys.stderr)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _step_ms(timeframe: str) -> int:
    from engine_alpha.config.models import timeframe_ms

    return timeframe_ms(timeframe)


def _report_fields(report: SymbolReport) -> dict[str, Any]:
    return {
        "symbol": report.symbol,
        "file": str(report.file),
        "kept_bars": report.kept_bars,
        "written": report.written,
        "first_ts_ms": report.first_ts_ms,
        "last_ts_ms": report.last_ts_ms,
        "refused": len(report.refused),
        "refused_bars": [asdict(r) for r in report.refused[:_SHOWN]],
        "gaps": len(report.gaps),
        "missing_bars": sum(g.missing for g in report.gaps),
        "gap_ranges": [asdict(g) for g in report.gaps[:_SHOWN]],
        "notes": report.notes,
        "error": report.error,
    }


def _describe_download(report: SymbolReport, step_ms: int) -> str:
    from engine_alpha.core.formatting import fmt_ts

    span = (
        f"{fmt_ts(report.first_ts_ms)} .. {fmt_ts(report.last_ts_ms)} UTC"
        if report.last_ts_ms is not None
        else "no bars"
    )
    lines = [
        f"{report.file.name}: {report.written} bars written, {report.kept_bars} kept ({span}); "
        f"{len(report.refused)} refused, {len(report.gaps)} gaps"
    ]
    lines += _details(report.gaps, report.refused, step_ms)
    lines += [f"  note: {note}" for note in report.notes]
    if report.error is not None:
        lines.append(f"  FAILED: {report.error} (what was written is kept; run again to resume)")
    return "\n".join(lines)


def _details(gaps: list[Gap], refused: list[Refusal], step_ms: int) -> list[str]:
    lines = [f"  gap: {gap.describe(step_ms)}" for gap in gaps[:_SHOWN]]
    if len(gaps) > _SHOWN:
        lines.append(f"  ... and {len(gaps) - _SHOWN} more gaps")
    lines += [f"  refused: {r.describe()}" for r in refused[:_SHOWN]]
    if len(refused) > _SHOWN:
        lines.append(f"  ... and {len(refused) - _SHOWN} more refused")
    return lines


# ---- check


def _cmd_check(args: argparse.Namespace) -> int:
    from engine_alpha.config.models import timeframe_ms
    from engine_alpha.core.formatting import fmt_ts
    from engine_alpha.market.coverage import bar_files, scan_file

    settings = _data_settings(args, "check")
    if isinstance(settings, int):
        return settings
    data_dir, max_price_jump = settings
    if not data_dir.is_dir():
        print(f"chloe data check: {data_dir} is not a directory", file=sys.stderr)
        return EXIT_CONFIG
    files = list(bar_files(data_dir))
    if not files:
        print(f"chloe data check: no <SYMBOL>-<timeframe>.csv files in {data_dir}", file=sys.stderr)
        return EXIT_CONFIG
    clean = True
    for path, symbol, timeframe in files:
        step_ms = timeframe_ms(timeframe)
        try:
            scan = scan_file(path, symbol, step_ms, max_price_jump=max_price_jump)
        except OSError as exc:
            clean = False
            problem = f"cannot read: {exc.strerror or exc}"
            print(json.dumps({"file": str(path), "error": problem}) if args.json else problem)
            continue
        clean = clean and not scan.refused
        if args.json:
            print(json.dumps(_scan_fields(scan, timeframe)))
            continue
        span = (
            f"{fmt_ts(scan.first_ts_ms)} .. {fmt_ts(scan.last_ts_ms)} UTC"
            if scan.last_ts_ms is not None
            else "no bars"
        )
        print(
            f"{path.name}: {scan.bars} bars, {span}; {len(scan.gaps)} gaps "
            f"({scan.missing_bars} bars missing), {len(scan.refused)} refused rows"
        )
        for line in _details(scan.gaps, scan.refused, step_ms):
            print(line)
    return EXIT_OK if clean else EXIT_FAILED


def _scan_fields(scan: FileScan, timeframe: str) -> dict[str, Any]:
    return {
        "file": str(scan.path),
        "symbol": scan.symbol,
        "timeframe": timeframe,
        "bars": scan.bars,
        "first_ts_ms": scan.first_ts_ms,
        "last_ts_ms": scan.last_ts_ms,
        "gaps": [asdict(g) for g in scan.gaps],
        "missing_bars": scan.missing_bars,
        "refused": [asdict(r) for r in scan.refused],
    }
