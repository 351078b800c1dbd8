"""The tabular application."""
