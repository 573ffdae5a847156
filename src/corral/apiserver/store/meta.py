"""Object metadata the server owns: names, uids, timestamps, generations.

What it decides:

- Names: DNS-1123 subdomain for most kinds, DNS-1123 label for namespaces,
  DNS-1035 label for services, any path segment for RBAC kinds (the rules of
  `corral.machinery.validation.names`); a bad name is a `FieldError` on
  ``metadata.name`` with Kubernetes' message.
- ``generateName``: the prefix plus five characters from Kubernetes'
  alphabet ``bcdfghjklmnpqrstvwxz2456789`` (no vowels, no confusables).
- Timestamps are RFC 3339 UTC with second precision (``2024-01-02T03:04:05Z``).
- ``metadata.generation`` moves only when something outside ``metadata`` and
  ``status`` changed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from corral.machinery.status import FieldError
from corral.machinery.validation.names import (
    NameFn,
    dns1035_name,
    label_name,
    path_segment_name,
    subdomain_name,
)

GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_GENERATED_LENGTH = 5
_MAX_GENERATE_PREFIX = 58  # 63 - 5: Kubernetes trims generateName to keep names valid

#: ``ResourceType.name_format`` -> the Kubernetes name rule it stands for.
_NAME_RULES: dict[str, NameFn] = {
    "subdomain": subdomain_name,
    "label": label_name,
    "label1035": dns1035_name,
    "path": path_segment_name,
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    """``prefix`` (trimmed to fit) plus five random characters."""
    suffix = "".join(secrets.choice(GENERATE_ALPHABET) for _ in range(_GENERATED_LENGTH))
    return prefix[:_MAX_GENERATE_PREFIX] + suffix


def name_errors(name: str, name_format: str, field: str = "metadata.name") -> list[FieldError]:
    """The problems with ``name`` under the rule ``name_format``."""
    rule = _NAME_RULES.get(name_format, subdomain_name)
    return [FieldError.invalid(field, name, text) for text in rule(name, False)]


def spec_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """True if anything but ``metadata`` and ``status`` differs."""
    skip = ("metadata", "status")
    keys = (set(new) | set(old)).difference(skip)
    return any(new.get(k) != old.get(k) for k in keys)
