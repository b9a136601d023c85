"""Risk: the portfolio risk engine (a read-only report over config, journal and bars)."""
