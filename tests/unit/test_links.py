"""The Temporal UI address that messages and the CLI print."""

from __future__ import annotations

from contracts.links import workflow_page_url


def test_the_workflow_page_url_joins_the_parts_with_one_slash() -> None:
    url = workflow_page_url("http://127.0.0.1:8233/", "default", "anschlag-2026-11-28")
    assert url == "http://127.0.0.1:8233/namespaces/default/workflows/anschlag-2026-11-28"


def test_the_workflow_page_url_quotes_the_namespace_and_the_id_as_whole_segments() -> None:
    url = workflow_page_url("http://127.0.0.1:8233", "lotse/test", "a b?c")
    assert url == "http://127.0.0.1:8233/namespaces/lotse%2Ftest/workflows/a%20b%3Fc"
