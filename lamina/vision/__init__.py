"""The vision application."""
