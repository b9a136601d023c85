"""Strategy: the profile filter and the per-asset task that turns bars into decisions."""
