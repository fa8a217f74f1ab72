# The commands the README names. Only Python 3.11+ is needed beforehand: uv is installed into .tools/
# with pip when it is not on PATH, and everything else comes from uv.lock into .venv/.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv/bin
SYNC := $(UV) sync --frozen --inexact

.PHONY: run test check lint typecheck openapi openapi-check dockerfile-lint bench corpus-report install install-dev install-check install-browser install-medplum
# The browser tests' Chromium and CJK fonts (issue 18), pinned Debian packages; only Debian's apt reaches them here.
CHROMIUM_VERSION ?= 156.0.8078.129-1~deb12u1
CJK_FONTS_VERSION ?= 1:20220127+repack1-1

run: install
	mkdir -p var
	$(VENV)/oncoresponse serve

# The check group (hadolint, helm, kubernetes-validate) is installed too, so the chart and Dockerfile
# tests run rather than skip; and Chromium, so the browser tests do (under CI=true they fail without it).
test: install-check install-browser install-medplum
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

# Debian's chromium and the Noto CJK fonts, when missing and apt-get can install them (root); otherwise the
# browser tests say why they skip.
install-browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium=$(CHROMIUM_VERSION) fonts-noto-cjk=$(CJK_FONTS_VERSION); \
	else echo "install-browser: no chromium and no apt-get as root; the browser tests will skip"; fi

# Medplum's validator for the conformance tests and its FHIR server for the write-back end-to-end test
# (issue 15), pinned by tests/medplum/package-lock.json; without npm those tests say why they skip (under
# CI=true they fail).
install-medplum:
	@if command -v npm >/dev/null 2>&1; then cd tests/medplum && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "install-medplum: no npm; the Medplum validation and write-back tests will skip"; fi

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv
