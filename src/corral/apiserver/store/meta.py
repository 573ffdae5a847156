"""Object metadata the server owns: names, uids, timestamps, generations.

What it decides:

- Names: DNS-1123 subdomain for most kinds, DNS-1123 label for namespaces,
  DNS-1035 label for services, any path segment for RBAC kinds; a bad name is
  a `FieldError` on ``metadata.name`` with Kubernetes' message.
- ``generateName``: the prefix plus five characters from Kubernetes'
  alphabet ``bcdfghjklmnpqrstvwxz2456789`` (no vowels, no confusables).
- Timestamps are RFC 3339 UTC with second precision (``2024-01-02T03:04:05Z``).
- ``metadata.generation`` moves only when something outside ``metadata`` and
  ``status`` changed.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from corral.machinery.labels import dns1123_subdomain_errors
from corral.machinery.status import FieldError

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GENERATED_LENGTH = 5
_MAX_GENERATE_PREFIX = 58  # 63 - 5: Kubernetes trims generateName to keep names valid

_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_1035_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    """``prefix`` (trimmed to fit) plus five random characters."""
    suffix = "".join(secrets.choice(GENERATE_ALPHABET) for _ in range(_GENERATED_LENGTH))
    return prefix[:_MAX_GENERATE_PREFIX] + suffix


def _label_errors(name: str, pattern: re.Pattern[str], message: str) -> list[str]:
    errors = []
    if len(name) > 63:
        errors.append("must be no more than 63 characters")
    if not pattern.fullmatch(name):
        errors.append(message)
    return errors


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def name_errors(name: str, name_format: str, field: str = "metadata.name") -> list[FieldError]:
    """The problems with ``name`` under the rule ``name_format``."""
    if name_format == "label":
        texts = _label_errors(name, _LABEL_RE, _LABEL_MSG)
    elif name_format == "label1035":
        texts = _label_errors(name, _1035_RE, _1035_MSG)
    elif name_format == "path":
        texts = _path_segment_errors(name)
    else:
        texts = dns1123_subdomain_errors(name)
    return [FieldError.invalid(field, name, text) for text in texts]


def spec_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True if anything but ``metadata`` and ``status`` differs."""
    skip = ("metadata", "status")
    keys = (set(new) | set(old)).difference(skip)
    return any(new.get(k) != old.get(k) for k in keys)
