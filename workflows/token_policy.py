"""Workflow pods get no Kubernetes token in their step containers; only Argo's executor does."""

from __future__ import annotations

from typing import Any

from hera.workflows import models


def executor_token_only(service_account: str | None) -> dict[str, Any]:
    """Workflow fields that keep the ServiceAccount token out of the main (step) container.

    `automountServiceAccountToken: false` removes the token from every container of the pod;
    `executor.serviceAccountName` has Argo mount that account's token into its own init and
    wait containers only (they report outputs as WorkflowTaskResults). The step code, which
    decodes untrusted media, never holds a credential for the Kubernetes API.
    """
    if service_account is None:
        return {}
    return dict(
        automount_service_account_token=False,
        executor=models.ExecutorConfig(service_account_name=service_account),
    )
