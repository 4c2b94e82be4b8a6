# cmrisk: `make run` serves the Darién demo at http://127.0.0.1:$(PORT); `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
REGION ?= darien
export CMRISK_DATA_DIR ?= $(CURDIR)/data
# Debian packages the test suite drives as real clients (GDAL's OAPIF driver, headless Chromium),
# the PostGIS server of the feature-store tests, docker-compose to validate the compose file,
# and what WeasyPrint needs to print the area briefs offline (Pango, fonts).
DEB_TEST_PACKAGES ?= gdal-bin chromium postgresql-15-postgis-3 docker-compose \
	libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation
PYTEST_ARGS ?=
# Test processes (pytest-xdist): most end-to-end tests wait on servers, browsers and child
# processes, so two keep both cores busy; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

.PHONY: run install demo pipeline serve test lint lint-js i18n bench bench-venv clean debs

run: install demo pipeline serve ## install, build the demo, run the pipeline, serve the map

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

# The JavaScript linter (ESLint, from npm at install time; it runs offline afterwards).
# Tests and lint only: `make run` needs no Node.js.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "make: the JavaScript lint needs Node.js and npm:" \
	  "sudo apt-get install -y nodejs npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed ## create .venv and install cmrisk with its test tools

demo: install ## write the embedded demo inputs of $(REGION) (once)
	$(BIN)/cmrisk demo --region $(REGION)

pipeline: install ## run the pipeline for $(REGION)
	$(BIN)/cmrisk run $(REGION)

serve: install ## serve at http://$(HOST):$(PORT)
	@echo "cmrisk: open http://$(HOST):$(PORT)/ (planning map: http://$(HOST):$(PORT)/maps/risk)"
	$(BIN)/cmrisk serve --host $(HOST) --port $(PORT)

# The peers, pinned, in their own venv: TiTiler (tile parity test and benchmark), pygeoapi
# (features benchmark; its Parquet provider needs geopandas, pyarrow and s3fs) and tipg.
BENCH_VENV := .venv-bench
TITILER_VERSION := 2.4.0
PYGEOAPI_VERSION := 0.21.0
TIPG_VERSION := 1.6.1

$(BENCH_VENV)/.titiler-$(TITILER_VERSION):
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet 'titiler.application==$(TITILER_VERSION)' 'uvicorn[standard]'
	touch $@

$(BENCH_VENV)/.pygeoapi-$(PYGEOAPI_VERSION): $(BENCH_VENV)/.titiler-$(TITILER_VERSION)
	$(BENCH_VENV)/bin/pip install --quiet 'pygeoapi==$(PYGEOAPI_VERSION)' s3fs geopandas pyarrow
	touch $@

# tipg, the features peer on PostGIS (serves the same tables as cmrisk's PostGIS store).
$(BENCH_VENV)/.tipg-$(TIPG_VERSION): $(BENCH_VENV)/.titiler-$(TITILER_VERSION)
	$(BENCH_VENV)/bin/pip install --quiet 'tipg==$(TIPG_VERSION)'
	touch $@

bench-venv: $(BENCH_VENV)/.titiler-$(TITILER_VERSION) ## TiTiler in .venv-bench (parity test, benchmarks)

debs: ## install the Debian packages the tests need (as root), or say how
	@bash scripts/ensure-debs.sh $(DEB_TEST_PACKAGES)

test: install node_modules/.installed debs bench-venv ## run every test (pytest's "no tests ran" fails too)
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

lint: install lint-js ## ruff and mypy on the four packages, ESLint on the map's JS, catalogues complete
	$(BIN)/ruff check data_catalog pipelines layers geo_service tests bench scripts
	$(BIN)/mypy
	$(BIN)/python scripts/i18n.py check

lint-js: node_modules/.installed ## ESLint on the planning map's JavaScript (offline)
	node_modules/.bin/eslint geo_service

i18n: install ## extract the messages and merge them into the es/pt catalogues (then translate)
	$(BIN)/python scripts/i18n.py update

bench: install bench-venv $(BENCH_VENV)/.pygeoapi-$(PYGEOAPI_VERSION) $(BENCH_VENV)/.tipg-$(TIPG_VERSION) ## benchmarks -> bench/RESULTS.md
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/regions.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/tiles.py
	$(BIN)/python bench/features.py
	$(BIN)/python bench/load.py

clean: ## remove the venv and the data dir
	rm -rf $(VENV) $(BENCH_VENV) data
