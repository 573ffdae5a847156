"""Which names the serving certificate must cover, and how a name is parsed.

A SAN value given by the user is an IP address if it parses as one, and a DNS
name otherwise; a DNS name must be a valid (optionally wildcard) hostname, so
that a typo is reported at start-up instead of producing a certificate no
client accepts. The serving certificate always covers ``localhost``,
``127.0.0.1``, ``::1`` and the machine's hostname, so that the printed URL and
the admin kubeconfig work on the machine itself with no flags.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from corral.pki.errors import InvalidSANError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

#: Names every serving certificate covers, whatever is configured.
BUILTIN_SANS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class SubjectAltNames:
    """A set of DNS names and IP addresses a certificate is valid for."""

    dns: frozenset[str] = frozenset()
    ips: frozenset[IPAddress] = frozenset()

    def covers(self, other: SubjectAltNames) -> bool:
        """True if every name in ``other`` is also in this set."""
        return other.dns <= self.dns and other.ips <= self.ips

    def __or__(self, other: SubjectAltNames) -> SubjectAltNames:
        return SubjectAltNames(self.dns | other.dns, self.ips | other.ips)

    def describe(self) -> str:
        """The names, sorted, for a log line."""
        return ",".join(sorted(self.dns) + sorted(str(ip) for ip in self.ips))


def parse_san(value: str) -> str | IPAddress:
    """An IP address if ``value`` is one, else a normalised DNS name.

    Raises `InvalidSANError` if ``value`` is neither.
    """
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    return _dns_name(value, text)


def _dns_name(original: str, text: str) -> str:
    name = text.lower().rstrip(".")
    if not name:
        raise InvalidSANError(original, "empty name")
    if len(name) > 253:
        raise InvalidSANError(original, "longer than 253 characters")
    labels = name.split(".")
    if labels[0] == "*":
        if len(labels) < 3:
            raise InvalidSANError(original, "a wildcard needs at least two more labels")
        labels = labels[1:]
    for label in labels:
        if not _LABEL.match(label):
            raise InvalidSANError(
                original, "not an IP address or a DNS name (letters, digits, '-' and '.')"
            )
    return name


def collect_sans(values: Iterable[str]) -> SubjectAltNames:
    """Parse SAN values into a `SubjectAltNames`; raises `InvalidSANError`."""
    dns: set[str] = set()
    ips: set[IPAddress] = set()
    for value in values:
        parsed = parse_san(value)
        if isinstance(parsed, str):
            dns.add(parsed)
        else:
            ips.add(parsed)
    return SubjectAltNames(frozenset(dns), frozenset(ips))


def machine_hostname() -> str | None:
    """The machine's hostname if it is usable as a SAN, else None."""
    try:
        name = socket.gethostname()
        parse_san(name)
    except (OSError, InvalidSANError):
        return None
    return name


def serving_sans(extra: Iterable[str], hostname: str | None = None) -> SubjectAltNames:
    """The SANs a serving certificate needs: built-ins, hostname and ``extra``.

    ``hostname`` defaults to the machine's; an unusable hostname is skipped.
    Raises `InvalidSANError` for a bad value in ``extra``.
    """
    host = machine_hostname() if hostname is None else hostname
    values = [*BUILTIN_SANS, *([host] if host else []), *extra]
    return collect_sans(values)
