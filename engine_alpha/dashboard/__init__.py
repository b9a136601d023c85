"""Dashboard: the multi-asset status panel."""
