# The README's two commands: `make run` and `make test`. Both install what they need.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps test-deps run test test-unit check lint typecheck format bench nginx-conf clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# The embedded Kafka broker needs a JRE (17+) and Maven to fetch its jars.
system-deps:
	@if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
		echo "installing a JRE and Maven with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq default-jre-headless maven; \
	fi

# The scrape test runs a real Prometheus; the benchmarks drive load with wrk.
# Where apt-get can't install them, those tests skip and say why.
test-deps:
	@if ! command -v prometheus >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then \
		echo "installing prometheus and wrk with apt-get"; \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq prometheus wrk) \
			|| echo "could not install prometheus/wrk: the scrape test will skip"; \
	fi

install: $(STAMP) system-deps

run: install
	$(BIN)/verdict up

test: install test-deps
	$(BIN)/pytest

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test-unit

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Figures to bench/results/ (JSON and the Markdown table the README quotes).
bench: install test-deps
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py

nginx-conf: $(STAMP)
	$(BIN)/verdict nginx-conf -o infra/nginx/nginx.conf

clean:
	rm -rf $(VENV) .verdict
