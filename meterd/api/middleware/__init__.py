"""Paste filters of meterd's own; each module ends with its filter_factory."""
