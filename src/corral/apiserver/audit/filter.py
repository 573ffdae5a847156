"""The audit filter: one record per request, written when the request ends.

It is the outermost filter of the HTTPS pipeline, so it sees every answer,
refusals by authentication (401), impersonation and authorization (403)
included; health probes (`PROBE_PATHS`) are not audited, while the other
public paths are (a login, failed or not, is a record). The record is
emitted at stage ``ResponseComplete``: for an ordinary request when the
handler has answered, for a long-running one (watch, logs, exec) when its
stream ends, so its ``latency`` is how long it stayed open. Long-running
requests also get a ``ResponseStarted`` record when the stream begins, as
in Kubernetes.

At level ``Request`` the request body is captured as the handler reads it
(nothing is read that the handler would not read) and recorded as
``requestObject`` if it is an object (JSON, YAML, or protobuf decoded to
JSON) of at most `MAX_RECORDED_BODY` bytes, unless `may_record_body`
forbids it (Secrets, tokens, login…).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
import yaml

from corral.apiserver.asgi import AnyResponse, Message, Request, StreamingResponse
from corral.apiserver.audit.event import AuditRecord
from corral.apiserver.audit.policy import Level, may_record_body, request_uri
from corral.apiserver.audit.sink import AuditLog
from corral.apiserver.pipeline import Handler
from corral.apiserver.requestinfo import parse_request_info
from corral.machinery.protobuf import CONTENT_TYPE as PROTOBUF
from corral.machinery.protobuf import decode_object
from corral.machinery.status import StatusError

#: Paths never audited: probes, which load balancers would fill the log with
#: (exactly these and their ``/<check>`` sub-paths).
PROBE_PATHS = ("/healthz", "/livez", "/readyz", "/version")


def is_probe(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROBE_PATHS)


#: Request bodies larger than this are not recorded.
MAX_RECORDED_BODY = 256 * 1024


def _source_ips(request: Request) -> list[str]:
    ips = [ip.strip() for ip in request.headers.get("x-forwarded-for", "").split(",") if ip.strip()]
    client = request.scope.get("client")
    if client and client[0] not in ips:
        ips.append(str(client[0]))
    return ips


class _BodyTap:
    """Keeps a copy of the request body chunks the handler reads."""

    def __init__(self, request: Request) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        receive = request.receive
        assert receive is not None

        async def tapped() -> Message:
            message = await receive()
            if message.get("type") == "http.request":
                chunk: bytes = message.get("body", b"")
                self.size += len(chunk)
                if self.size <= MAX_RECORDED_BODY:
                    self.chunks.append(chunk)
            return message

        request.receive = tapped

    def recorded(self, content_type: str) -> Any:
        """The body as JSON (an object, or a JSON patch's list; from JSON, YAML or
        protobuf), or None."""
        if not self.chunks or self.size > MAX_RECORDED_BODY:
            return None
        raw = b"".join(self.chunks)
        media = content_type.split(";", 1)[0].strip().lower()
        try:
            if media == PROTOBUF:
                body: Any = decode_object(raw)
            elif media.endswith("yaml"):  # application/yaml, apply-patch+yaml
                body = yaml.safe_load(raw.decode("utf-8"))
            else:
                body = orjson.loads(raw)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError, StatusError):
            return None
        return body if isinstance(body, dict | list) else None  # a JSON patch is a list


class Audit:
    """A filter writing one audit record per request to an `AuditLog`."""

    def __init__(self, sink: AuditLog, level: Level) -> None:
        self._sink = sink
        self._level = level

    async def __call__(self, request: Request, next_handler: Handler) -> AnyResponse:
        if self._level is Level.NONE or is_probe(request.path):
            return await next_handler(request)
        received = time.time()
        started = time.perf_counter()
        info = parse_request_info(request.method, request.path, request.query)
        query = request.scope.get("query_string", b"").decode("latin-1")
        record = AuditRecord(
            audit_id=str(uuid.uuid4()),
            level=self._level.value,
            stage="ResponseComplete",
            verb=info.verb,
            request_uri=request_uri(request.path, query),
            info=info,
            source_ips=_source_ips(request),
            user_agent=request.headers.get("user-agent", ""),
            received=received,
        )
        tap = None
        if self._level is Level.REQUEST and request.receive is not None and may_record_body(info):
            tap = _BodyTap(request)
        try:
            response = await next_handler(request)
        except StatusError as exc:
            self._finish(record, request, exc.code, started, tap)
            raise
        except Exception:
            self._finish(record, request, 500, started, tap)
            raise
        if isinstance(response, StreamingResponse):
            self._fill(record, request, response.status, started)
            self._sink.emit(replace(record, stage="ResponseStarted").encode())
            response.chunks = self._until_end(response.chunks, record, request, started, tap)
            return response
        self._finish(record, request, response.status, started, tap)
        return response

    @staticmethod
    def _fill(record: AuditRecord, request: Request, code: int, t0: float) -> AuditRecord:
        record.user = request.user
        record.impersonator = request.impersonator
        record.code = code
        record.latency = time.perf_counter() - t0
        record.finished = record.received + record.latency
        return record

    def _finish(
        self, record: AuditRecord, request: Request, code: int, t0: float, tap: _BodyTap | None
    ) -> None:
        self._fill(record, request, code, t0)
        if tap is not None:
            record.request_object = tap.recorded(request.headers.get("content-type", ""))
        self._sink.emit(record.encode())

    async def _until_end(
        self,
        chunks: AsyncIterator[bytes],
        record: AuditRecord,
        request: Request,
        t0: float,
        tap: _BodyTap | None,
    ) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()
            self._finish(record, request, record.code, t0, tap)
