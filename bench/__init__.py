"""Benchmarks for Xenocept for Slack: ``python -m bench`` (see BENCHMARKS.md)."""
