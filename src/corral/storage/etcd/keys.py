"""How Corral's keys, prefixes and lease TTLs are written in etcd.

- A storage key ``k`` is the etcd key ``root + k`` (UTF-8), so a shared etcd
  keeps Corral's data under one root and other data elsewhere.
- A prefix becomes the etcd range ``[root + prefix, range_end)``, where
  ``range_end`` is the prefix with its last byte incremented (etcd's own rule).
- A TTL is an etcd lease, and the lease ID carries the TTL in its high 32 bits
  (the low 32 are random): reads can report the TTL a key was written with
  (`corral.storage.KeyValue.lease`) without another request.
"""

from __future__ import annotations

import secrets

#: Largest TTL a lease ID can carry (seconds).
MAX_TTL = 2**31 - 1


def range_end(prefix: bytes) -> bytes:
    """The first key after every key starting with ``prefix`` (b"\\0": no end)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\x00"
    return stripped[:-1] + bytes([stripped[-1] + 1])


def new_lease_id(ttl: int) -> int:
    """A fresh lease ID that says ``ttl``."""
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds for etcd, not {ttl}")
    return (ttl << 32) | (secrets.randbits(32) or 1)


def ttl_of(lease_id: int) -> int:
    """The TTL a lease ID made by `new_lease_id` carries (0: no lease)."""
    return lease_id >> 32 if lease_id > 0 else 0
