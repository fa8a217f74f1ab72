# syntax=docker/dockerfile:1
# oncoresponse container image. Build from the repository root:
#   docker build -t oncoresponse:0.1.0 .
# Run (the image refuses to start without tokens, see docs/deployment.md):
#   docker run -p 8080:8080 -e ONCO_API_TOKENS=... -e ONCO_DATABASE_URL=postgresql+asyncpg://... oncoresponse:0.1.0
#
# Both stages use the same base image: the venv built in the first stage links to that image's
# /usr/local/bin/python3.11, so the runtime stage must provide the same interpreter at the same path.

FROM python:3.11-slim AS builder

# uv is pinned to the version that wrote uv.lock; bump both together.
RUN pip install --no-cache-dir uv==0.13.9

# Install into /opt/venv with the image's own interpreter (never a downloaded one), precompiled so the
# read-only root filesystem at run time never needs a __pycache__ write.
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /src

# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# Then the project itself, as a regular (non-editable) wheel install: the wheel carries mappings/ as
# service/_mappings, so the runtime stage needs nothing from the source tree.
COPY README.md ./
COPY service ./service
COPY mappings ./mappings
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable


FROM python:3.11-slim AS runtime

# A fixed numeric UID/GID, so Kubernetes' runAsNonRoot can check it and the Helm chart can name it.
RUN groupadd --system --gid 10001 oncoresponse \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin oncoresponse

COPY --from=builder /opt/venv /opt/venv

# Safe defaults for a container: it must listen on all interfaces, and the settings refuse an
# unauthenticated service on a non-loopback address, so bearer auth is on and ONCO_API_TOKENS (a
# comma-separated list, from a secret) must be provided. Production also refuses SQLite, so
# ONCO_DATABASE_URL must name PostgreSQL.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ONCO_ENV=production \
    ONCO_HOST=0.0.0.0 \
    ONCO_PORT=8080 \
    ONCO_AUTH_MODE=bearer

USER 10001:10001
EXPOSE 8080

# slim has no curl: probe liveness with the standard library. Any error or non-2xx status exits 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ONCO_PORT', '8080') + '/healthz', timeout=4)"]

CMD ["oncoresponse", "serve"]
