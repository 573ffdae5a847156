"""Int-or-percent values (``maxUnavailable``, ``minAvailable``, ``maxSurge``) as numbers.

Kubernetes' ``intstr.GetScaledValueFromIntOrPercent``, in the lenient form the
DaemonSet, StatefulSet and PodDisruptionBudget controllers share (validation
has already refused bad values; what slips through is reported as None; the
Deployment's `scaled_value` turns that into a ValueError).
"""

from __future__ import annotations


def scaled(value: object, total: int, round_up: bool = True) -> int | None:
    """An int, a digit string, or ``"N%"`` of ``total`` (rounded up or down); None if
    it is none of them (``"50%"`` of 3 is 2 rounded up)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            return None
        whole, rest = divmod(percent * total, 100)
        return whole + (1 if round_up and rest else 0)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def scaled_or_zero(value: object, total: int) -> int:
    """`scaled`, rounded up, with an unreadable value counting as 0."""
    number = scaled(value, total)
    return 0 if number is None else number
