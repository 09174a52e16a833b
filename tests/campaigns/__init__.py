"""Outbound caring campaigns (#16)."""
