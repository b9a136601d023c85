"""An example of a signal model packaged on its own: `momentum` (see `momentum.py`)."""
