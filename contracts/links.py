"""Addresses that point people at an incident: one place, so a message and the CLI agree."""

from __future__ import annotations

from urllib.parse import quote


def workflow_page_url(ui_url: str, namespace: str, workflow_id: str) -> str:
    """The workflow's page in the Temporal UI.

    The namespace and the id are quoted as whole path segments: a `/`, `?` or space in either
    would otherwise open another page or cut the address where a mail client wraps it."""
    base = ui_url.rstrip("/")
    return f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
