"""Core: plain facts and helpers every layer shares.

Units, exit codes, number formatting, safe file writes, bounded line reading.
"""
