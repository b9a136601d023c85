"""Chloe's engine: a multi-asset crypto paper-trading daemon."""

__version__ = "0.1.0"
