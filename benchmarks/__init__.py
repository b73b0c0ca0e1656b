"""`make bench`: mus measured against beets on the same generated library, in the same run.

Each measurement is a module with a `run(ctx) -> list[Row]` function; `__main__` runs them,
prints one markdown table and writes the same figures to `bench-results/bench.json` (copied to
`docs/benchmarks.json`). The machine is shared and noisy, so tools are run alternately and
compared by the median of several runs and by ratios, never by one absolute time.
"""
