"""Register the incident search attributes on the namespace if they are missing."""

from __future__ import annotations

import structlog
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from workflows.support import search

log = structlog.get_logger()


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Add any missing ``Remediator*`` attributes (keyword; the title is text); warn if
    not permitted."""
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search.ALL
        if key.name not in listed.custom_attributes
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
        log.info("search_attributes.added", names=sorted(missing))
    except RPCError as exc:
        log.warning("search_attributes.missing", names=sorted(missing), error=exc.message)
