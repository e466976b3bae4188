"""Throughput harness for xmjax (python -m benchmarks.run --help)."""
