"""Storage: sqlmodel tables, the engine, queries and migrations; imports nothing else of Loket."""
