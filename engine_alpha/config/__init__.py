"""Configuration: the operator's two JSON files, their models and their loader."""
