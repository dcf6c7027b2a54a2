# syntax=docker/dockerfile:1
# One image for every part of the detector; Kubernetes picks the part with the container's
# arguments: `detector serve-api`, `detector inference-server`, `detector metrics-sidecar`,
# `detector ...` for workflow steps, and `mlflow server ...` (command overridden).
#   docker build -t deepfake-detector:dev .
# The training workflow reads real media and runs speech and text generators from Debian
# packages (the data catalogue, models/data/catalog.toml): it runs in the `training` target,
#   docker build --target training -t deepfake-detector-training:dev .
# and is submitted with that image (`workflows.train.build_train_workflow(image=...)`).

# --- build: a virtual environment with the CPU build of torch and the project ---
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# torch first, from PyTorch's CPU index: the same version from PyPI is the multi-GB CUDA
# build. `pip install .` then finds torch==2.13.0 satisfied (2.13.0+cpu) and keeps it.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY . .
RUN pip install . \
 && cd /tmp && python -c "import cv2, torch, config, cli.main; print(torch.__version__, cv2.__version__)"

# --- runtime: the environment alone, a non-root user, no compilers ---
FROM python:3.11-slim AS runtime
# tini as PID 1 forwards SIGTERM to the server (Python as PID 1 ignores it) and reaps children.
# No libgl: OpenCV is opencv-python-headless.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
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
COPY models/data/catalog.py models/data/catalog.toml /tmp/catalog/
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(python /tmp/catalog/catalog.py packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/catalog
USER 10001:10001

# --- the default target: the runtime image (api, inference, workflow steps, MLflow) ---
FROM runtime AS serve
