"""Benchmarks of the detector (`python -m benchmarks.run`); results under var/bench/<name>.json."""
