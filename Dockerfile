# syntax=docker/dockerfile:1
# comments_service: API (`comments-service serve`) and scoring worker (`comments-service worker`).
# The worker's model files (the detoxify checkpoint and its ONNX int8 export) live under /app/data:
# mount a volume there so that a first start's export is done once, not on every start.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# the CPU build of torch first, so nothing pulls a multi-GB CUDA build
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY comments_service ./comments_service
RUN pip install "torch==2.13.0" .

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    COMMENTS_HOST=0.0.0.0 \
    COMMENTS_PORT=8000 \
    COMMENTS_WORKER_HOST=0.0.0.0 \
    COMMENTS_WORKER_PORT=8001 \
    COMMENTS_MIGRATIONS_DIR=/app/migrations \
    COMMENTS_DATA_DIR=/app/data \
    COMMENTS_TOXICITY_CACHE_DIR=/app/data/toxicity \
    TORCH_HOME=/app/data/torch
RUN groupadd --system app && useradd --system --gid app --home-dir /app --no-create-home app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY migrations ./migrations
RUN mkdir -p /app/data && chown app:app /app/data
USER app
# 8000: the API (`serve`); 8001: a worker's probes and metrics (`worker`). The health check asks
# whichever of the two this container's process serves.
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-m", "comments_service.healthcheck"]
CMD ["comments-service", "serve"]
