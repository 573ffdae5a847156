"""`Client`: the Kubernetes verbs for any resource, over any `Transport`.

What it decides:

- Namespaces: a cluster-scoped resource ignores them. For a namespaced
  one, ``namespace=None`` means the object's own ``metadata.namespace``
  (writes), else the client's default (from the kubeconfig context or the
  pod); ``namespace=""`` means all namespaces (list, watch).
- Bodies are JSON (orjson); ``apply`` sends the object as
  ``application/apply-patch+yaml`` (JSON is YAML) with ``fieldManager``
  and ``force``.
- Answers: a failed one raises its `StatusError` subclass (see
  `corral.client.responses`); a successful one returns the decoded object
  (for delete: the deleted object, or the ``Status`` the server sent).
- Retries (`corral.client.retry`): every request retries 429/5xx with
  Retry-After; reads, updates whose body pins ``metadata.resourceVersion``,
  patches that pin it (or JSON patches that test it) and deletes with a
  resourceVersion precondition also retry dropped connections. Creates
  never do.
- ``list_pages``/``list_items`` follow ``continue`` tokens until the last
  page; an expired token raises `Expired` (start over).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from corral.client.config import DEFAULT_NAMESPACE, ClusterConfig, load_kubeconfig
from corral.client.discovery import Discovery
from corral.client.errors import ConfigError
from corral.client.incluster import SERVICE_ACCOUNT_DIR, in_cluster_config
from corral.client.options import (
    PatchType,
    Preconditions,
    delete_options,
    has_resource_version,
    json_patch_tests_resource_version,
    query,
)
from corral.client.resources import ResourceRef
from corral.client.responses import decode_object, status_error
from corral.client.retry import RetryPolicy, send_with_retries
from corral.client.transport import DEFAULT_TIMEOUT, Query, Transport
from corral.client.watch import Watch

_JSON = "application/json"
DEFAULT_PAGE_SIZE = 500


class Client:
    """An async Kubernetes API client; close it (or use ``async with``) when done."""

    def __init__(
        self,
        transport: Transport,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.transport = transport
        self.namespace = namespace
        self.retry = retry or RetryPolicy()
        self.discovery = Discovery(self.get_path)

    @classmethod
    def from_config(
        cls,
        config: ClusterConfig,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> Client:
        """A client over HTTP(S) to the server ``config`` describes."""
        # httpx is imported only by clients that talk HTTP (not the server's own).
        from corral.client.httptransport import HTTPTransport

        return cls(HTTPTransport(config, timeout=timeout), namespace=config.namespace, retry=retry)

    @classmethod
    def from_kubeconfig(
        cls, path: str | Path | None = None, *, context: str | None = None, **kwargs: Any
    ) -> Client:
        """A client for a kubeconfig context (see `load_kubeconfig` for the lookup rules)."""
        return cls.from_config(load_kubeconfig(path, context=context), **kwargs)

    @classmethod
    def in_cluster(cls, root: str | Path = SERVICE_ACCOUNT_DIR, **kwargs: Any) -> Client:
        """A client with this pod's service account."""
        return cls.from_config(in_cluster_config(root), **kwargs)

    @classmethod
    def auto(cls, **kwargs: Any) -> Client:
        """In-cluster configuration when in a pod, else the default kubeconfig."""
        try:
            config = in_cluster_config()
        except ConfigError:
            config = load_kubeconfig()
        return cls.from_config(config, **kwargs)

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the wire -----------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Query = (),
        body: Any = None,
        content_type: str = _JSON,
        idempotent: bool,
    ) -> dict[str, Any]:
        """Send one request (retried per the rules) and return its JSON object, or raise."""
        data = None if body is None else orjson.dumps(body)
        headers = {"Accept": _JSON}
        if data is not None:
            headers["Content-Type"] = content_type
        what = f"{method} {path}"
        response = await send_with_retries(
            self.retry,
            lambda: self.transport.request(method, path, params, headers, data),
            idempotent=idempotent,
            what=what,
        )
        if response.status >= 400:
            raise status_error(response.status, response.body)
        return decode_object(response.body, what)

    async def get_path(self, path: str) -> dict[str, Any]:
        """GET any API path (discovery documents, ``/version``…)."""
        return await self.request("GET", path, idempotent=True)

    def _ns(
        self, resource: ResourceRef, namespace: str | None, body: Mapping[str, Any] | None = None
    ) -> str:
        if not resource.namespaced:
            return ""
        if namespace is not None:
            return namespace
        meta = body.get("metadata") if body is not None else None
        own = meta.get("namespace") if isinstance(meta, Mapping) else None
        return own if isinstance(own, str) and own else self.namespace

    @staticmethod
    def _name(body: Mapping[str, Any]) -> str:
        meta = body.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        if not isinstance(name, str) or not name:
            raise ValueError("the object has no metadata.name")
        return name

    # -- reads --------------------------------------------------------------

    async def get(
        self,
        resource: ResourceRef,
        name: str,
        *,
        namespace: str | None = None,
        subresource: str = "",
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        path = resource.path(self._ns(resource, namespace), name, subresource)
        params = query(resource_version=resource_version)
        return await self.request("GET", path, params=params, idempotent=True)

    async def list(
        self,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_: str | None = None,
        resource_version: str | None = None,
        resource_version_match: str | None = None,
        timeout_seconds: int | None = None,
    ) -> dict[str, Any]:
        """One page of the collection (all of it without ``limit``)."""
        params = query(
            label_selector=label_selector,
            field_selector=field_selector,
            limit=limit,
            continue_=continue_,
            resource_version=resource_version,
            resource_version_match=resource_version_match,
            timeout_seconds=timeout_seconds,
        )
        path = resource.path(self._ns(resource, namespace))
        return await self.request("GET", path, params=params, idempotent=True)

    async def list_pages(
        self,
        resource: ResourceRef,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        **options: Any,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every page of the collection, following ``continue`` tokens (same options as list)."""
        token: str | None = None
        while True:
            page = await self.list(resource, limit=page_size, continue_=token, **options)
            yield page
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return
            # The continue token carries the snapshot; these must not be resent.
            options.pop("resource_version", None)
            options.pop("resource_version_match", None)

    async def list_items(
        self, resource: ResourceRef, *, page_size: int = DEFAULT_PAGE_SIZE, **options: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every object of the collection, page by page."""
        async for page in self.list_pages(resource, page_size=page_size, **options):
            for item in page.get("items") or []:
                yield item

    def watch(
        self,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        bookmarks: bool = False,
        resume: bool = True,
    ) -> Watch:
        """Changes to the collection after ``resource_version`` (see `Watch`)."""
        params = query(label_selector=label_selector, field_selector=field_selector)
        return Watch(
            self.transport,
            resource.path(self._ns(resource, namespace)),
            params,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            bookmarks=bookmarks,
            resume=resume,
            policy=self.retry,
        )

    # -- writes -------------------------------------------------------------

    async def create(
        self,
        resource: ResourceRef,
        body: Mapping[str, Any],
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """POST a new object. Never retried after a dropped connection."""
        path = resource.path(self._ns(resource, namespace, body))
        params = query(
            dry_run=dry_run, field_validation=field_validation, field_manager=field_manager
        )
        return await self.request("POST", path, params=params, body=body, idempotent=False)

    async def update(
        self,
        resource: ResourceRef,
        body: Mapping[str, Any],
        *,
        namespace: str | None = None,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str | None = None,
        field_manager: str | None = None,
    ) -> dict[str, Any]:
        """PUT the whole object; a stale ``metadata.resourceVersion`` raises `Conflict`."""
        path = resource.path(self._ns(resource, namespace, body), self._name(body), subresource)
        params = query(
            dry_run=dry_run, field_validation=field_validation, field_manager=field_manager
        )
        return await self.request(
            "PUT", path, params=params, body=body, idempotent=has_resource_version(body)
        )

    async def patch(
        self,
        resource: ResourceRef,
        name: str,
        patch: Any,
        *,
        patch_type: PatchType = PatchType.MERGE,
        namespace: str | None = None,
        subresource: str = "",
        field_manager: str | None = None,
        force: bool | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """PATCH with any patch type; ``force`` only means something for apply patches."""
        path = resource.path(self._ns(resource, namespace), name, subresource)
        params = query(
            dry_run=dry_run,
            field_validation=field_validation,
            field_manager=field_manager,
            force=force,
        )
        pinned = (
            json_patch_tests_resource_version(patch)
            if patch_type is PatchType.JSON
            else has_resource_version(patch)
        )
        return await self.request(
            "PATCH", path, params=params, body=patch, content_type=patch_type, idempotent=pinned
        )

    async def apply(
        self,
        resource: ResourceRef,
        body: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        namespace: str | None = None,
        subresource: str = "",
        dry_run: bool = False,
        field_validation: str | None = None,
    ) -> dict[str, Any]:
        """Server-side apply of ``body`` as ``field_manager``."""
        return await self.patch(
            resource,
            self._name(body),
            body,
            patch_type=PatchType.APPLY,
            namespace=self._ns(resource, namespace, body),
            subresource=subresource,
            field_manager=field_manager,
            force=force,
            dry_run=dry_run,
            field_validation=field_validation,
        )

    async def delete(
        self,
        resource: ResourceRef,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: Preconditions | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """DELETE one object; the answer is the object (as deleted or being deleted) or a Status."""
        path = resource.path(self._ns(resource, namespace), name)
        body = delete_options(
            propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds,
            preconditions=preconditions,
            dry_run=dry_run,
        )
        pinned = preconditions is not None and bool(preconditions.resource_version)
        return await self.request("DELETE", path, body=body, idempotent=pinned)

    async def delete_collection(
        self,
        resource: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """DELETE every matching object of the collection; the answer is the list deleted."""
        path = resource.path(self._ns(resource, namespace))
        params = query(label_selector=label_selector, field_selector=field_selector)
        body = delete_options(
            propagation_policy=propagation_policy,
            grace_period_seconds=grace_period_seconds,
            preconditions=None,
            dry_run=dry_run,
        )
        return await self.request("DELETE", path, params=params, body=body, idempotent=False)
