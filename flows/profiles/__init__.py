"""Desk profiles: one YAML file per business, checked at start."""
