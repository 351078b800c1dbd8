"""The text application."""
