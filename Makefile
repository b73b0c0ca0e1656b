VENV ?= .venv

.PHONY: bench
# mus against beets on a generated library (BENCH_TRACKS, BENCH_RUNS, BENCH_PAD_KB, BENCH_ONLY):
# prints a markdown table, writes bench-results/bench.json and docs/benchmarks.json.
bench:
	@$(VENV)/bin/python -c "import beets, psutil, soundfile, imageio_ffmpeg" 2>/dev/null \
		|| $(VENV)/bin/pip install -q -e '.[dev,bench]'
	$(VENV)/bin/python -m benchmarks
