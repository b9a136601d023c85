"""Test helpers that ship with the package: the Binance-compatible fake exchange and the
reusable signal-model checks (`signal_models.py`)."""
