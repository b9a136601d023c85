"""One line of `reports/trades.jsonl`: the fill record, validated when the journal is read back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["open", "close"]
CloseReason = Literal["stop", "target", "timeout", "reverse"]


class FillLine(BaseModel):
    """A paper fill, entry or exit (SPEC §4). `bar_ts` is the bar in which the fill happened.

    Opens carry what recovery needs to carry the position on (`stop_price`, `target_price`,
    `expires_bar_ts`); closes carry the entry and the net PnL of the round trip. `group_end_seq`
    ties a line to the fills of its bar time, always committed together: a group whose last
    line is missing or damaged was never acknowledged, and recovery rolls it back whole so the
    bar time is executed again. Lines from before groups existed have none and stand alone.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: Annotated[int, Field(ge=1)]
    fill_id: str
    trade_id: str
    bar_ts: int
    wall_ts: str
    symbol: str
    timeframe: str
    mode: Literal["paper", "observation"]
    action: Action
    side: Literal["buy", "sell"]
    direction: Literal["long", "short"]
    qty: Annotated[float, Field(gt=0)]
    price: Annotated[float, Field(gt=0)]
    notional_usd: Annotated[float, Field(gt=0)]
    fee_usd: Annotated[float, Field(ge=0)]
    fee_bps: Annotated[float, Field(ge=0)]
    slippage_bps: Annotated[float, Field(ge=0)]
    regime: str
    confidence: Annotated[float, Field(ge=0, le=1)]
    bucket: Annotated[int, Field(ge=0, le=9)]
    reason: Literal["signal", "stop", "target", "timeout", "reverse"]
    signal_bar_ts: int
    # open only
    stop_price: float | None = None
    target_price: float | None = None
    expires_bar_ts: int | None = None
    # close only
    entry_price: float | None = None
    entry_bar_ts: int | None = None
    entry_fee_usd: float | None = None
    pnl_usd: float | None = None
    pnl_bps: float | None = None
    # every line since commit groups: the seq of the last fill of its bar time
    group_end_seq: int | None = None
    # every line since fills record their costs: the price before slippage (the bar's open, a
    # stop or target level, the close), the tick the price was rounded to (against the trader),
    # and the slippage really paid in bps, rounding included (`slippage_bps` is the assumption)
    reference_price: Annotated[float, Field(gt=0)] | None = None
    tick_size: Annotated[float, Field(ge=0)] | None = None
    slippage_paid_bps: float | None = None

    @model_validator(mode="after")
    def _action_fields(self) -> FillLine:
        costs = (self.reference_price, self.tick_size, self.slippage_paid_bps)
        if any(c is None for c in costs) and any(c is not None for c in costs):
            raise ValueError("reference_price, tick_size and slippage_paid_bps go together")
        if self.group_end_seq is not None and self.group_end_seq < self.seq:
            raise ValueError(f"group_end_seq {self.group_end_seq} is before seq {self.seq}")
        if self.action == "open":
            if self.reason != "signal":
                raise ValueError("an open fill has reason 'signal'")
            if self.stop_price is None or self.target_price is None or self.expires_bar_ts is None:
                raise ValueError("an open fill needs stop_price, target_price and expires_bar_ts")
        else:
            if self.reason == "signal":
                raise ValueError("a close fill has reason stop, target, timeout or reverse")
            missing = [
                k
                for k in ("entry_price", "entry_bar_ts", "entry_fee_usd", "pnl_usd", "pnl_bps")
                if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(f"a close fill needs {', '.join(missing)}")
        return self
