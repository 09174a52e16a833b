"""Administration: the phrase and profile editors, user accounts."""
