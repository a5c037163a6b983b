# One image per service, built from the repository root and the lock file:
#   docker build --build-arg SERVICE=school-monitor -t c2r/school-monitor .
# (`make images` builds all three.) SERVICE is assessment-api, request-intake or
# school-monitor. The image runs `<service> serve` on port 8080 as an unprivileged user;
# `docker run IMAGE migrate` applies the service's migrations (a release step of its own).
#
# PYTHON_IMAGE is any Debian-based image with CPython 3.11 as python3.11 and its venv module:
# the official python:3.11-slim-bookworm by default, or a base built locally
# (deploy/docker/build-base-image) where no registry can be reached.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
# uv at the version the lock file was written with; its own venv, so that the system
# Python of a Debian base stays untouched.
ARG UV_VERSION=0.13.9
# The system's CA store (UV_SYSTEM_CERTS), as pip uses it: a site whose registries are
# reached through its own CA puts it there.
ENV UV_PYTHON=python3.11 UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \
    UV_NO_CACHE=1 UV_SYSTEM_CERTS=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN test -n "${SERVICE}" || { echo "--build-arg SERVICE=<service> is required" >&2; exit 1; } \
    && python3.11 -m venv /opt/uv \
    && /opt/uv/bin/pip install "uv==${UV_VERSION}"
WORKDIR /app
# The dependencies first, from the lock file alone, so that a change of the sources does
# not download them again.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY deploy/pyproject.toml deploy/
COPY services/assessment-api/pyproject.toml services/assessment-api/
COPY services/request-intake/pyproject.toml services/request-intake/
COPY services/school-monitor/pyproject.toml services/school-monitor/
RUN /opt/uv/bin/uv sync --frozen --no-dev --package "${SERVICE}" --no-install-workspace
COPY shared shared
COPY services/${SERVICE} services/${SERVICE}
# Editable: the service finds its alembic.ini and migrations beside its sources.
RUN /opt/uv/bin/uv sync --frozen --no-dev --package "${SERVICE}" \
    && ln -s "/app/.venv/bin/${SERVICE}" /app/.venv/bin/c2r-service

FROM ${PYTHON_IMAGE}
ARG SERVICE
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="c2r/${SERVICE}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.source="Connect2Recover platform"
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin c2r
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/shared /app/shared
COPY --from=build /app/services/${SERVICE} /app/services/${SERVICE}
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    C2R_BUILD_COMMIT=${COMMIT}
USER 10001:10001
EXPOSE 8080
# /healthz: the process answers (readiness, /readyz, is the orchestrator's business).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["c2r-service"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
