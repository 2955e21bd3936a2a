# Two commands on a fresh machine: `make run` (set up + main job) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EDGEACCEL := $(VENV)/bin/edgeaccel
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: run test bench lint iverilog clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamps re-install the project whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

iverilog:
	@command -v iverilog >/dev/null 2>&1 || { \
		echo "installing Icarus Verilog (apt-get)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq iverilog >/dev/null; }
	@iverilog -V 2>/dev/null | head -n 1

run: $(VENV)/.installed-run
	$(EDGEACCEL) sweep configs/sweeps/default.yaml --out results/default

test: $(VENV)/.installed-test iverilog
	$(PY) -m pytest

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check sim accel hls_gen tests benchmarks

bench: $(VENV)/.installed-run
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) build results .pytest_cache .hypothesis
