"""Whether a value is a Kubernetes resource quantity, judged as kube-apiserver judges it.

Quantities (``cpu: 1``, ``cpu: "500m"``, ``memory: 512Mi``) are typed in the
OpenAPI documents as "a string or a number", which says nothing about which
strings. The Go decoder (``resource.ParseQuantity``) is the real rule, and its
two error messages are what users see; this module reproduces both.
"""

from __future__ import annotations

import re

QUANTITY_PATTERN = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_WRONG = f"quantities must match the regular expression '{QUANTITY_PATTERN}'"
SUFFIX_WRONG = "unable to parse quantity's suffix"

_SHAPE = re.compile(QUANTITY_PATTERN)
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")
_EXPONENT = re.compile(r"^[eE][-+]?[0-9]+$")
_SUFFIXES = frozenset({"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G"})
_SUFFIXES |= {"T", "P", "E"}


def quantity_error(value: object) -> str:
    """The decoder's message for ``value`` if it is not a quantity, else ``""``."""
    if isinstance(value, bool):
        return FORMAT_WRONG
    if isinstance(value, (int, float)):
        return ""
    if not isinstance(value, str):
        return FORMAT_WRONG
    match = _SHAPE.match(value)
    if match is None:
        return FORMAT_WRONG
    number, suffix = match.group(1), match.group(2)
    if not _NUMBER.match(number):
        return FORMAT_WRONG
    if suffix in _SUFFIXES or _EXPONENT.match(suffix):
        return ""
    return SUFFIX_WRONG
