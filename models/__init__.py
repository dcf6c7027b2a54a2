"""Detector models: features, networks, training, MLflow registry and scoring."""

MODALITIES = ("image", "audio", "video", "text")
