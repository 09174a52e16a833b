"""Channels: one module per way a client reaches Loket, behind the Channel contract."""
