"""Logging: one line per event, as ``key=value`` text or JSON, secrets redacted.

Text lines read ``<time> <LEVEL> <logger> <message> key=value…``; JSON lines
are one object with ``time``, ``level``, ``logger``, ``msg`` and the same
keys. The keys are whatever the caller passed in ``extra=``. A traceback is
folded into the line (``traceback="…"``), never printed over several lines.
uvicorn's loggers propagate to the same root handler; its access-log records
are rewritten into fields (``client``, ``method``, ``path``, ``code``), with
the query string dropped. As a last line of defence every formatted line has
``Bearer <anything>`` replaced by ``Bearer <redacted>``, and the token of an
import path (``/v3/import/<token>_<cluster>.yaml``, which kubectl fetches
with the token in the URL) by ``<redacted>`` (``corral.machinery.redaction``):
code never logs headers or tokens, and this makes a mistake harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
import orjson

from corral.machinery.redaction import redact_path_secrets

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/@+\-\[\],]*$")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


def _timestamp(record: logging.LogRecord) -> str:
    when = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _redact(line: str) -> str:
    return redact_path_secrets(_BEARER.sub(r"\1<redacted>", line))


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value…`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if "\n" in msg or "=" in msg:
            msg = _quote(msg)
        parts = [_timestamp(record), record.levelname, record.name, msg]
        parts += [f"{k}={_value(v)}" for k, v in _fields(record).items()]
        if record.exc_info:
            parts.append(f"traceback={_quote(self.formatException(record.exc_info))}")
        return _redact(" ".join(parts))


class JSONFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            doc["traceback"] = self.formatException(record.exc_info)
        return _redact(orjson.dumps(doc, default=str).decode())


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if text and _PLAIN.match(text) else _quote(text)


def _quote(text: str) -> str:
    return orjson.dumps(text).decode()


class UvicornAccessFields(logging.Filter):
    """Turns uvicorn's access-log record into fields, without the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, _version, code = args
            record.msg, record.args = "request", ()
            record.client = client
            record.method = method
            record.path = str(path).split("?", 1)[0]
            record.code = code
        return True


def configure_logging(log_format: str, level: str) -> None:
    """Send all logging to stderr in ``log_format`` at ``level`` and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    # uvicorn's own lifecycle lines ("Started server process", once per
    # server) repeat what corral.cli logs; keep only its warnings and errors.
    if level.upper() != "DEBUG":
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, UvicornAccessFields) for f in access.filters):
        access.addFilter(UvicornAccessFields())


_F = TypeVar("_F", bound=Callable[..., Any])


def log_options(command: _F) -> _F:
    """The ``--log-format`` and ``--log-level`` options every long-running command takes."""
    command = click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default="info",
        envvar="CORRAL_LOG_LEVEL",
        show_envvar=True,
        help="Least severe level logged.",
    )(command)
    return click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default="text",
        envvar="CORRAL_LOG_FORMAT",
        show_envvar=True,
        help="One line per event: key=value text, or a JSON object.",
    )(command)
