"""The meterd benchmark: a seeded 1M-sample workload over HTTP, measured against raw limits.

Run it with ``python -m tools.bench`` (or ``tools/bench/run.sh``); ``--help``
lists the options. The README's "Benchmarks" section explains the figures.
"""
