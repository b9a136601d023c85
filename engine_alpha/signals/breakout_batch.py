"""The breakout's decisions over a whole series at once: the batch path for parameter sweeps.

It computes what `BreakoutModel.update` returns bar by bar, with the same arithmetic in the
same order (so the same floats, bit for bit), in one loop over local variables instead of one
method call per indicator per bar; the channel's rolling extremes come from numpy (a maximum is
exact whatever the order). `tests/signals/test_breakout_batch.py` checks it against the
incremental model on every bar of generated and real series. The daemon never uses it: it
decides one closed bar at a time, as every model must.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from engine_alpha.config.models import REGIMES
from engine_alpha.market.bars import Bar
from engine_alpha.signals.breakout_params import BreakoutParams
from engine_alpha.signals.decision import DecisionColumns

__all__ = ["breakout_columns"]

FloatArray = npt.NDArray[np.float64]
_HIGH_VOL, _TREND_UP, _TREND_DOWN, _CHOP = (
    REGIMES.index(name) for name in ("high_vol", "trend_up", "trend_down", "chop")
)


def _previous_extreme(values: FloatArray, window: int, highest: bool) -> list[float]:
    """Per bar, the max (min) of the `window` values before it; NaN where fewer exist."""
    out = np.full(len(values), np.nan)
    if len(values) > window:
        view = sliding_window_view(values[:-1], window)
        out[window:] = view.max(axis=1) if highest else view.min(axis=1)
    result: list[float] = out.tolist()
    return result


def breakout_columns(  # noqa: PLR0912, PLR0915 - one inlined loop is the point (speed)
    params: BreakoutParams, bars: Sequence[Bar]
) -> DecisionColumns:
    """Every bar's decision, as `BreakoutModel(params)` fed `bars` in order would give it."""
    n_bars = len(bars)
    highs = [b.high for b in bars]
    lows = [b.low for b in bars]
    closes = [b.close for b in bars]
    volumes = [b.volume for b in bars]
    channel = params.channel_bars
    prev_high = _previous_extreme(np.array(highs), channel, True)
    prev_low = _previous_extreme(np.array(lows), channel, False)
    rp = params.regime
    vol_ratio_sq = rp.high_vol_ratio * rp.high_vol_ratio
    trend_atr = rp.trend_atr
    a_vfast, a_vslow = 2.0 / (rp.vol_fast_bars + 1.0), 2.0 / (rp.vol_slow_bars + 1.0)
    a_efast, a_eslow = 2.0 / (rp.ema_fast_bars + 1.0), 2.0 / (rp.ema_slow_bars + 1.0)
    a_volume = 2.0 / (params.volume_bars + 1.0)
    period, warmup = params.atr_bars, params.warmup_bars
    window, min_samples = params.rank_window, params.min_rank_samples
    fade = params.fade_in_chop

    atr_out = [0.0] * n_bars
    regime_out = [-1] * n_bars
    direction_out = [0] * n_bars
    confidence_out = [float("nan")] * n_bars
    bucket_out = [-1] * n_bars

    atr = prev_close_atr = 0.0
    volume_ema = 0.0
    var_fast = var_slow = 0.0
    var_count = 0
    ema_fast = ema_slow = 0.0
    prev_close = 0.0
    ranked: list[float] = []
    order: deque[float] = deque()
    for i in range(n_bars):
        high, low, close = highs[i], lows[i], closes[i]
        n = i + 1
        prev_atr = atr
        excess = 0.0
        if i >= channel and prev_atr > 0.0:
            top, bottom = prev_high[i], prev_low[i]
            if close > top:
                excess = close - top
            elif close < bottom:
                excess = close - bottom
        prev_volume = volume_ema
        # Wilder's ATR (WilderAtr.update)
        if i:
            pc = prev_close_atr
            tr = (high if high > pc else pc) - (low if low < pc else pc)
        else:
            tr = high - low
        prev_close_atr = close
        if n <= period:
            atr += (tr - atr) / n
        else:
            atr += (tr - atr) / period
        # volume EMA (Ema.update)
        volume_ema = volume_ema + a_volume * (volumes[i] - volume_ema) if i else volumes[i]
        # the regime (RegimeTracker.update, classify_regime)
        if prev_close > 0.0:
            ret = 2.0 * (close - prev_close) / (close + prev_close)
            sq = ret * ret
            if var_count:
                var_fast += a_vfast * (sq - var_fast)
                var_slow += a_vslow * (sq - var_slow)
            else:
                var_fast = var_slow = sq
            var_count += 1
            fast_var, slow_var = var_fast, var_slow
        else:
            fast_var = slow_var = 0.0
        prev_close = close
        if i:
            ema_fast += a_efast * (close - ema_fast)
            ema_slow += a_eslow * (close - ema_slow)
        else:
            ema_fast = ema_slow = close
        gap = ema_fast - ema_slow
        if fast_var > vol_ratio_sq * slow_var:
            regime = _HIGH_VOL
        else:
            band = trend_atr * atr
            regime = _TREND_UP if gap > band else _TREND_DOWN if gap < -band else _CHOP
        atr_out[i] = atr
        if excess == 0.0:
            if n > warmup:
                regime_out[i] = regime
            continue
        # a breakout (BreakoutModel._breakout)
        excess_atr = excess / prev_atr
        rel_volume = volumes[i] / prev_volume if prev_volume > 0.0 else 1.0
        strength = (excess_atr if excess_atr > 0.0 else -excess_atr) * rel_volume
        enough = len(ranked) >= min_samples
        confidence = (
            (bisect_left(ranked, strength) + bisect_right(ranked, strength)) / (2.0 * len(ranked))
            if enough
            else 0.0
        )
        if len(order) == window:
            del ranked[bisect_left(ranked, order.popleft())]
        insort(ranked, strength)
        order.append(strength)
        if n <= warmup:
            continue
        regime_out[i] = regime
        if not enough:
            continue
        up = excess_atr > 0.0
        if regime == _CHOP and fade:
            up = not up
        direction_out[i] = 1 if up else -1
        confidence_out[i] = confidence
        bucket_out[i] = min(9, int(confidence * 10.0))
    return DecisionColumns(
        atr=np.array(atr_out, dtype=np.float64),
        regime=np.array(regime_out, dtype=np.int64),
        direction=np.array(direction_out, dtype=np.int64),
        confidence=np.array(confidence_out, dtype=np.float64),
        bucket=np.array(bucket_out, dtype=np.int64),
    )
