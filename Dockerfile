# syntax=docker/dockerfile:1
# comments_service: API (`comments-service serve`), scoring worker (`comments-service worker`) and
# notifier (`comments-service notifier`), one image; deploy/README.md has the compose file and the
# Helm chart that run them.
#
#   docker build -t comments-service .                      the image (default target: api)
#   docker build --target worker-with-model \
#     --build-context model-kit=/srv/comments/model \
#     -t comments-service-worker .                          a worker image that carries its model
#
# Without a baked model kit the worker's model files (the detoxify checkpoint and its ONNX int8
# export) live under /app/data: mount a volume there so that a first start's export is done once,
# not on every start.

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
# a fixed uid/gid, so that an orchestrator can check runAsNonRoot and own volumes (fsGroup) by number
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY migrations ./migrations
RUN mkdir -p /app/data && chown app:app /app/data
USER 10001:10001
# 8000: the API (`serve`); 8001: a worker's probes and metrics (`worker`). The health check asks
# whichever of the two this container's process serves.
EXPOSE 8000 8001
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-m", "comments_service.healthcheck"]
CMD ["comments-service", "serve"]

# The model kit: a folder made by `comments-service model fetch` and `model export` (model.json,
# the checkpoint, config/ and onnx/). This empty stage stands in for it; a build of the
# worker-with-model target replaces it with `--build-context model-kit=DIR`, so the kit never
# has to be inside this repository's build context.
FROM scratch AS model-kit

# A worker that carries its model: no pod downloads or exports anything at start, and the model
# dir is read-only. Outside /app/data, so that a volume mounted there does not hide it.
FROM runtime AS worker-with-model
# auto: the kit must hold the exports for CPUs with VNNI (int8) and without (uint8), as `model
# export` makes them; int8 or uint8: only that one, for a cluster whose CPUs are all of one kind
ARG MODEL_KIT_WEIGHTS=auto
COPY --from=model-kit / /app/model/
ENV COMMENTS_TOXICITY_MODEL_DIR=/app/model \
    COMMENTS_TOXICITY_INT8_WEIGHTS=${MODEL_KIT_WEIGHTS} \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
# The build fails here, naming what is missing, when the kit is absent or incomplete (no
# --build-context, no ONNX export). As root: the check also records the checkpoint's digest in
# the kit, which the worker cannot write, so that a start does not hash the checkpoint again.
USER root
RUN --mount=type=bind,source=deploy/docker/check_model_kit.py,target=/tmp/check_model_kit.py \
    python /tmp/check_model_kit.py /app/model "${MODEL_KIT_WEIGHTS}"
USER 10001:10001
CMD ["comments-service", "worker"]

# The default target (a plain `docker build .`): the image whose command is the API.
FROM runtime AS api
