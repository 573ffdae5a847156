"""Resource quantities as numbers: sums, comparisons and Kubernetes' canonical text.

Quota and LimitRange arithmetic must be exact (``100m`` three times is
``300m``, not ``0.30000000000000004``) and must print what Kubernetes
prints (``resource.Quantity.String()``): decimal quantities with the
largest SI suffix that keeps the number whole (``2000`` → ``2k``, ``0.5``
→ ``500m``, ``1500`` stays), binary ones (those written with ``Ki``/``Mi``/…)
with the largest power of 1024 that divides them (``1536Mi``). Parsing is
`corral.machinery.validation.quantity.quantity_value` (exact `Decimal`).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from corral.machinery.validation.quantity import quantity_value

_BINARY = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")
_DECIMAL = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
ZERO = Decimal(0)


def parse(value: object) -> Decimal | None:
    """The exact value of a quantity (string or JSON number), None if unreadable."""
    return quantity_value(value)


def is_binary(value: object) -> bool:
    """True if ``value`` was written with a binary suffix (it prints that way)."""
    return isinstance(value, str) and value[-2:] in _BINARY[1:]


def format_quantity(value: Decimal, binary: bool = False) -> str:
    """``value`` as Kubernetes prints a quantity (rounded up to nano units)."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if binary and value == value.to_integral_value() and value >= 1024:
        number, power = int(value), 0
        while power < len(_BINARY) - 1 and number % 1024 == 0:
            number //= 1024
            power += 1
        if power:
            return f"{sign}{number}{_BINARY[power]}"
    nanos = (value * Decimal(10) ** 9).to_integral_value(rounding=ROUND_CEILING)
    exponent = -9
    mantissa = int(nanos)
    while exponent < 18 and mantissa % 1000 == 0:
        mantissa //= 1000
        exponent += 3
    return f"{sign}{mantissa}{_DECIMAL[exponent]}"


def format_like(value: Decimal, example: object) -> str:
    """``value`` printed in the format of quantity ``example`` (a sum keeps its first term's)."""
    return format_quantity(value, is_binary(example))


def milli(value: Decimal) -> int:
    """``value`` in thousandths, rounded up (``MilliValue``)."""
    return int((value * 1000).to_integral_value(rounding=ROUND_CEILING))


def format_usage(key: str, value: Decimal, example: object = None) -> str:
    """A quota value for resource ``key`` as Kubernetes prints it.

    With ``example`` (the text it replaces), in that quantity's format;
    otherwise memory-like resources (memory, storage, hugepages) print in
    binary units when a power of 1024 divides them, everything else in SI.
    """
    if example is not None:
        return format_like(value, example)
    memory_like = not key.endswith("cpu") and any(
        w in key for w in ("memory", "storage", "hugepages")
    )
    return format_quantity(value, memory_like and value >= 1024 and value % 1024 == 0)
