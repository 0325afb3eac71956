"""Benchmarks: every figure beside the same raw Cypher on the same data in the same run."""
