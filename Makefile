# The commands the README names. Only Python 3.11+ is needed beforehand: uv is installed into .tools/
# with pip when it is not on PATH, and everything else comes from uv.lock into .venv/.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv/bin
SYNC := $(UV) sync --frozen --inexact

.PHONY: run test check lint typecheck openapi openapi-check dockerfile-lint bench corpus-report install install-dev install-check

run: install
	mkdir -p var
	$(VENV)/oncoresponse serve

# The check group (hadolint, helm, kubernetes-validate) is installed too, so the chart and Dockerfile
# tests run rather than skip.
test: install-check
	$(VENV)/coverage run -m pytest $(PYTEST_ARGS)
	$(VENV)/coverage report

check: install-check lint typecheck openapi-check dockerfile-lint

lint:
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck:
	$(VENV)/mypy

openapi: install-dev
	$(VENV)/python -m service.api.openapi write openapi/openapi.json

openapi-check:
	$(VENV)/python -m service.api.openapi check openapi/openapi.json

dockerfile-lint:
	$(VENV)/hadolint Dockerfile

bench: install-dev
	$(VENV)/python -m benchmarks

corpus-report: install-dev
	$(VENV)/python -m tests.corpus.report

install: $(UV)
	$(SYNC) --no-dev

install-dev: $(UV)
	$(SYNC)

install-check: $(UV)
	$(SYNC) --group check

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv
