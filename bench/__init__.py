"""Benchmark harness for genpipe (see bench/README.md)."""
