"""The MLflow registry: its settings, the client, the one champion cache, promotion and audits."""
