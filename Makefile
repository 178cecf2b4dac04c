# The two commands: `make demo` and `make test`. Everything else is a step they use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VENDOR := src/govshare/web/static/vendor
HOST ?= 127.0.0.1
PORT ?= 8000
# Two workers by default (the CI machine has 2 cores); each file runs in one worker, and each
# worker gets its own databases and its own browser server. PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test install install-test assets lint serve bench bench-locate bench-import \
        bench-consolidation bench-solver bench-open311 bench-charts bench-carbon bench-sites \
        bench-fleet bench-casebook bench-print clean help

help:
	@echo "make demo   install, build the demo region (SQLite under ./var) and serve on http://$(HOST):$(PORT)"
	@echo "make test   install test tools and run every test (needs PostgreSQL and Chromium)"
	@echo "make bench  run the eleven benchmarks in bench/ one after another and write bench/results/"
	@echo "           (one alone: make bench-locate | bench-import | bench-consolidation | bench-solver"
	@echo "            | bench-open311 | bench-charts | bench-carbon | bench-sites | bench-fleet"
	@echo "            | bench-casebook | bench-print)"

demo: install
	$(BIN)/govshare demo
	@echo ""
	@echo "Serving the demo on http://$(HOST):$(PORT)  (Ctrl-C to stop)"
	$(BIN)/govshare serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(VENV)/.stamp-install assets

install-test: $(VENV)/.stamp-test assets

$(VENV)/.stamp-venv:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "govshare needs Python >= 3.11, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.stamp-install: $(VENV)/.stamp-venv pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-install pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

web/node_modules/.stamp: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end packages from npm, copied next to the app's own static files (not committed).
assets: $(VENDOR)/.stamp

$(VENDOR)/.stamp: web/node_modules/.stamp
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/uswds $(VENDOR)/leaflet $(VENDOR)/axe-core \
	      $(VENDOR)/swagger-ui
	cp -r web/node_modules/@uswds/uswds/dist/css web/node_modules/@uswds/uswds/dist/js \
	      web/node_modules/@uswds/uswds/dist/img web/node_modules/@uswds/uswds/dist/fonts $(VENDOR)/uswds/
	cp -r web/node_modules/leaflet/dist/leaflet.js web/node_modules/leaflet/dist/leaflet.css \
	      web/node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp web/node_modules/axe-core/axe.min.js $(VENDOR)/axe-core/
	cp web/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
	      web/node_modules/swagger-ui-dist/swagger-ui.css $(VENDOR)/swagger-ui/
	touch $@

serve: install
	$(BIN)/govshare serve --host $(HOST) --port $(PORT)

# Run one at a time (no -j): they time themselves on a shared 2-core machine.
bench: bench-locate bench-import bench-consolidation bench-solver bench-open311 bench-charts \
       bench-carbon bench-sites bench-fleet bench-casebook bench-print

bench-locate: install-test
	$(BIN)/python bench/bench_locate.py

bench-import: install-test
	$(BIN)/python bench/bench_import.py

bench-carbon: install-test
	$(BIN)/python bench/bench_carbon.py

bench-consolidation: install-test
	$(BIN)/python bench/bench_consolidation.py

bench-solver: install-test
	$(BIN)/python bench/bench_solver.py

bench-open311: install-test
	$(BIN)/python bench/bench_open311.py

bench-charts: install-test
	$(BIN)/python bench/bench_charts.py

bench-sites: install-test
	$(BIN)/python bench/bench_sites.py

bench-fleet: install-test
	$(BIN)/python bench/bench_fleet_pool.py

bench-casebook: install-test
	$(BIN)/python bench/bench_casebook.py

bench-print: install-test
	$(BIN)/python bench/bench_print.py

clean:
	rm -rf $(VENV) web/node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache
