"""jobweave's benchmark suite: wall time, throughput and peak memory of real runs.

Run it from the repository root with ``python -m benchmarks`` (``make bench``); see
``docs/benchmarks.md``. Speed is measured here and never by timed tests.
"""
