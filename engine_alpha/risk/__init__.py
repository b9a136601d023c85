"""Risk: order sizing under per-trade, daily and portfolio caps, and the portfolio risk engine."""
