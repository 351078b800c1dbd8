"""The collab application."""
