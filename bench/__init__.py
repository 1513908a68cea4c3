"""Benchmarks of the store layer (run them, they are not tests): see bench/README.md."""
