# syntax=docker/dockerfile:1
# One image for every part of the detector; Kubernetes picks the part with the container's
# arguments: `detector serve-api`, `detector inference-server`, `detector metrics-sidecar`,
# `detector ...` for workflow steps, and `mlflow server ...` (command overridden).
#   docker build -t deepfake-detector:dev .
# The training workflow reads real media and runs speech and text generators from Debian
# packages (the data catalogue, models/training/data/catalog.toml): it runs in the `training` target,
#   docker build --target training -t deepfake-detector-training:dev .
# and is submitted with that image (`workflows.train.build_train_workflow(image=...)`).

# --- build: a virtual environment from requirements.lock, every file checked by its hash ---
# Base images are pinned to an exact release; `k8s/pin-digests.sh` resolves each to its digest
# (where a registry is reachable) and rewrites these lines to `python:3.11.7-slim-bookworm@sha256:...`.
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# Every dependency, pip and setuptools included, from the lock with --require-hashes: a file
# whose hash is not in the lock is refused. torch is the lock's 2.13.0+cpu, found on PyTorch's
# CPU index (the same version from PyPI is the multi-GB CUDA build).
COPY requirements.lock /tmp/requirements.lock
RUN pip install --require-hashes --extra-index-url https://download.pytorch.org/whl/cpu \
        -r /tmp/requirements.lock
WORKDIR /src
COPY . .
# The project alone: no dependency resolution, no build isolation (setuptools is the lock's).
RUN pip install --no-deps --no-build-isolation . \
 && pip check \
 && cd /tmp && python -c "import cv2, torch, config, cli.main; print(torch.__version__, cv2.__version__)"

# --- runtime: the environment alone, a non-root user, no compilers ---
FROM python:3.11.7-slim-bookworm AS runtime
# tini as PID 1 forwards SIGTERM to the server (Python as PID 1 ignores it) and reaps children.
# No libgl: OpenCV is opencv-python-headless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 detector \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/detector --create-home \
        --shell /usr/sbin/nologin detector
COPY --from=build /opt/venv /opt/venv
# Caches point at /tmp: in Kubernetes the root filesystem is read-only and /tmp an emptyDir.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    XDG_CONFIG_HOME=/tmp/.config \
    NUMBA_CACHE_DIR=/tmp/numba \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /home/detector
USER 10001:10001
# api, inference server, MLflow
EXPOSE 8000 8001 5000
ENTRYPOINT ["/usr/bin/tini", "--", "detector"]
CMD ["serve-api", "--host", "0.0.0.0"]

# --- training: the runtime plus every Debian package the data catalogue names ---
FROM runtime AS training
USER root
COPY models/training/data/catalog.py models/training/data/catalog.toml /tmp/catalog/
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(python /tmp/catalog/catalog.py packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/catalog
USER 10001:10001

# --- the default target: the runtime image (api, inference, workflow steps, MLflow) ---
FROM runtime AS serve
