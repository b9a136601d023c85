"""Signals: incremental indicators, the market regime and the directional signal with its confidence."""
