"""Benchmarks: ``make bench`` runs them and rewrites docs/performance.md. Every cost is reported next to a
baseline measured in the same run (a plain orjson parse of the same bytes), as a ratio."""
