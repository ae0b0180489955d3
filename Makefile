# Herald: `make run` to start everything locally, `make test` for the whole suite
# (six pytest processes, each test handed on to whichever is free; four measured the same).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint clean bench faults

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Herald needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m webapp.launch

test: install
	@test -e $${HERALD_CHROMIUM:-/usr/bin/chromium} || echo "make test: no Chromium at $${HERALD_CHROMIUM:-/usr/bin/chromium}: the browser tests will be SKIPPED (apt-get install -y chromium, or run .ci/run as root)"
	$(BIN)/python -m pytest -n 6 --dist worksteal

lint: install
	$(BIN)/ruff check webapp tests bench worker.py

clean:
	rm -rf $(VENV) .pytest_cache

# Measurements with the real stack; figures go to bench/results/ and docs/benchmarks.md.
bench: install
	$(BIN)/python -m bench.worker_job --deliveries 300
	$(BIN)/python -m bench.worker_job --deliveries 300 --batch-size 1
	$(BIN)/python -m bench.lateness --posts 2000 --window 60 --workers 2
	$(BIN)/python -m bench.burst --channels 50 --posts 100 --workers 2
	$(BIN)/python -m bench.mixed_top_of_hour --spread 300 --over 20 --burst 1000 --lead-in 35
	$(BIN)/python -m bench.mixed_top_of_hour --spread 300 --over 20 --burst 1000 --lead-in 35 --database postgresql
	$(BIN)/python -m bench.baselines
	$(BIN)/python -m bench.bulk_schedule
	$(BIN)/python -m bench.redis_footprint
	$(BIN)/python -m bench.calendar_month
	$(BIN)/python -m bench.queue_page

# Fault injection against the real stack (Redis flushed, restarted and frozen, workers
# killed, platforms failing); the short scenarios also run in `make test` (tests/reliability).
faults: install
	$(BIN)/python -m bench.faults
