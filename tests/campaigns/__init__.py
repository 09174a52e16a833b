"""Outbound caring campaigns (docs/campaigns.md)."""
