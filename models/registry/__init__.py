"""The MLflow registry: the client, the one champion cache, promotion, identities and audits."""
