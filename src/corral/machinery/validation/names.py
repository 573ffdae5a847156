"""The string formats Kubernetes validates, with its exact messages (apimachinery 1.32).

Each function returns the list of reasons a string is not of its format (an
empty list: it is), as ``k8s.io/apimachinery/pkg/util/validation`` does, so a
caller wraps each reason in a ``FieldError``. Label keys, label values and
DNS-1123 subdomains live in :mod:`corral.machinery.labels` and are reused here.

It also decides which name format each kind uses for ``metadata.name``
(:data:`NameFn`): with ``prefix=True`` the string is a ``generateName`` and a
trailing ``-`` is allowed, as Kubernetes' ``maskTrailingDash`` allows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from corral.machinery.labels import _regex_error, dns1123_subdomain_errors, label_key_errors

NameFn = Callable[[str, bool], list[str]]
"""``(name, prefix) -> reasons``: how one kind's object names are checked."""

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
_DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
_SUBDOMAIN_RE = re.compile(rf"{_LABEL_FMT}(\.{_LABEL_FMT})*")
_LABEL_RE = re.compile(_LABEL_FMT)
_DNS1035_RE = re.compile(_DNS1035_FMT)
_CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
_CONFIG_KEY_RE = re.compile(_CONFIG_KEY_FMT)
_PORT_NAME_RE = re.compile("[-a-z0-9]+")
_LETTER_RE = re.compile("[a-z]")
_RELAXED_ENV_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters "
    "other than '='"
)


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def dns1123_label_errors(value: str) -> list[str]:
    """``IsDNS1123Label``."""
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _LABEL_RE.fullmatch(value):
        if _SUBDOMAIN_RE.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(_regex_error(_LABEL_MSG, _LABEL_FMT, "my-name", "123-abc"))
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """``IsDNS1035Label`` (Service names)."""
    errors = [max_len_error(63)] if len(value) > 63 else []
    if not _DNS1035_RE.fullmatch(value):
        errors.append(_regex_error(_DNS1035_MSG, _DNS1035_FMT, "my-name", "abc-123"))
    return errors


def qualified_name_errors(value: str) -> list[str]:
    """``IsQualifiedName`` (annotation keys, finalizers): a label key's rules and wording."""
    return [
        m.replace("a valid label key ", "a qualified name ", 1) for m in label_key_errors(value)
    ]


def path_segment_errors(value: str, prefix: bool = False) -> list[str]:
    """``ValidatePathSegmentName`` (RBAC names): no ``/`` or ``%``, not ``.`` or ``..``."""
    if not prefix and value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


def port_name_errors(value: str) -> list[str]:
    """``IsValidPortName`` (an IANA_SVC_NAME)."""
    errors = [max_len_error(15)] if len(value) > 15 else []
    if not _PORT_NAME_RE.fullmatch(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _LETTER_RE.search(value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def port_number_errors(value: int) -> list[str]:
    """``IsValidPortNum``."""
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]


def _chdir_prefix_errors(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"must not be '{value}'"]
    return ["must not start with '..'"] if value.startswith("..") else []


def config_key_errors(value: str) -> list[str]:
    """``IsConfigMapKey`` (ConfigMap and Secret data keys)."""
    errors = [max_len_error(253)] if len(value) > 253 else []
    if not _CONFIG_KEY_RE.fullmatch(value):
        errors.append(
            _regex_error(_CONFIG_KEY_MSG, _CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name")
        )
    return errors + _chdir_prefix_errors(value)


def env_var_name_errors(value: str) -> list[str]:
    """``IsRelaxedEnvVarName`` (RelaxedEnvironmentVariableValidation is on in 1.32)."""
    errors = ["environment variable name must be non-empty"] if not value else []
    if any(not (" " <= c <= "~") or c == "=" for c in value):
        errors.append(_RELAXED_ENV_MSG)
    return errors


def _mask_trailing_dash(name: str) -> str:
    """``maskTrailingDash``: a generateName may end in ``-``; check it as if it were ``a``."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def subdomain_name(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSSubdomain``: most kinds."""
    return dns1123_subdomain_errors(_mask_trailing_dash(name) if prefix else name)


def label_name(name: str, prefix: bool) -> list[str]:
    """``NameIsDNSLabel``: namespaces."""
    return dns1123_label_errors(_mask_trailing_dash(name) if prefix else name)


def dns1035_name(name: str, prefix: bool) -> list[str]:
    """``NameIsDNS1035Label``: services."""
    return dns1035_label_errors(_mask_trailing_dash(name) if prefix else name)


def path_segment_name(name: str, prefix: bool) -> list[str]:
    """``ValidatePathSegmentName``: RBAC roles and bindings, unknown kinds."""
    return path_segment_errors(name, prefix)
