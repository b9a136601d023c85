"""Test helpers that ship with the package: the Binance-compatible fake exchange."""
