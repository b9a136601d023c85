"""Execution: sizing under the caps, the paper broker (fills, exit rules) and the trader."""
