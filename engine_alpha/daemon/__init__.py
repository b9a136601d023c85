"""The daemon: the service that recovers, runs and stops, and its process glue.

The runner feeds bars to the strategy tasks and the trader; early signals, sd_notify and the
start gates surround it.
"""
