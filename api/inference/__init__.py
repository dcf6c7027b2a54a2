"""The inference service: warm champions behind HTTP, its client, and its metrics sidecar."""
