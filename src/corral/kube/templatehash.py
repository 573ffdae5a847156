"""The ``pod-template-hash`` of a Deployment's pod template.

A Deployment names each ReplicaSet ``<deployment>-<hash>`` and labels it and
its pods ``pod-template-hash=<hash>``, so the hash must be the same for the
same template in every process and after every restart. Kubernetes feeds a
Go-specific dump of the template struct to FNV-1a (32 bit), then, when the
Deployment has a ``collisionCount``, an 8-byte buffer holding it as a
little-endian uint32; it prints the sum in decimal and maps each digit with
``rand.SafeEncodeString`` (no vowels, no look-alikes). Corral keeps every
step except the dump, which it replaces by canonical JSON of the template
(sorted keys, no spaces, nulls and empty values dropped): the exact value
differs from a Go controller's, its shape and stability do not. The
collision count gives a new name when a hash is taken by a ReplicaSet with
another template.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

from corral.machinery.jsoncopy import json_copy

#: The label and selector key a Deployment adds (``DefaultDeploymentUniqueLabelKey``).
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"

_SAFE_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes, value: int = _FNV_OFFSET) -> int:
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: every character mapped onto a vowel-free alphabet."""
    return "".join(_SAFE_ALPHANUMS[ord(ch) % len(_SAFE_ALPHANUMS)] for ch in text)


def normalize(value: Any) -> Any:
    """``value`` without nulls, empty objects and empty lists, at every depth.

    Go decodes a template into typed structs, where ``null``, absent, ``{}``
    and ``[]`` are the same zero value (``apiequality.Semantic.DeepEqual``
    treats nil and empty alike): kubectl's ``rollout undo`` sends
    ``metadata.creationTimestamp: null`` and must still match the ReplicaSet
    it came from.
    """
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            item = normalize(item)
            if item is None or item == {} or item == []:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [normalize(item) for item in value]
    return value


def compute_hash(template: Mapping[str, Any], collision_count: int | None = None) -> str:
    """The pod-template-hash of ``template`` (a PodTemplateSpec dict)."""
    canonical = json.dumps(
        normalize(template), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    value = fnv32a(canonical.encode())
    if collision_count is not None:
        # An 8-byte buffer with the count in its first four bytes, little-endian.
        value = fnv32a(struct.pack("<I4x", collision_count & 0xFFFFFFFF), value)
    return safe_encode(str(value))


def without_hash(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` without the pod-template-hash label (empty labels dropped)."""
    out = json_copy(dict(template))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        labels = meta.get("labels")
        if isinstance(labels, dict):
            labels.pop(POD_TEMPLATE_HASH_LABEL, None)
            if not labels:
                meta.pop("labels")
        if not meta:
            out.pop("metadata")
    return out


def equal_ignore_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """``EqualIgnoreHash``: the templates are equal apart from the pod-template-hash label
    (and nulls or empty values, as Go's typed comparison sees them)."""
    return bool(normalize(without_hash(a)) == normalize(without_hash(b)))
