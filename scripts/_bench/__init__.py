"""Benchmark building blocks for ``scripts/bench.py`` (one module per group of figures)."""
