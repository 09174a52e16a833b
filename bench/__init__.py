"""Benchmarks: runnable programs that measure Loket on this machine."""
