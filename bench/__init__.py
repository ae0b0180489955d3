"""Benchmarks against the real stack, run as modules from the repository root."""
