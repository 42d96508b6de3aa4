"""Benchmarks: ``python -m benchmarks.run_all`` (``./scripts/bench.sh``) writes docs/benchmarks.md."""
