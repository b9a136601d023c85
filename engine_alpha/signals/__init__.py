"""Signals: incremental indicators, the market regime, the directional signal and its confidence."""
