"""Execution: the paper broker that fills orders and runs the exit rules."""
