"""The API's errors, each one a Kubernetes ``metav1.Status`` waiting to be sent.

Every failure the API reports travels as a ``Status`` object, and clients
(kubectl, client-go, the official Python client) decide what to do from its
``reason``, ``code`` and ``details``: retry a conflict, re-list after
``Expired``, show the field named in a cause. So the errors below produce the
exact JSON the Kubernetes API server produces for the same situation, message
wording included, and :meth:`StatusError.from_status` turns such JSON back into
the matching class on the client side.

    StatusError                     base: code, reason, message, details; to_status()
    ├── BadRequest                  400 BadRequest
    ├── Unauthorized                401 Unauthorized (alias UnauthorizedError)
    ├── Forbidden                   403 Forbidden
    ├── NotFound                    404 NotFound
    │   └── NotFoundError           404 with a plain message (unknown path, health check)
    ├── MethodNotAllowed            405 MethodNotAllowed
    │   └── MethodNotAllowedError   405 with a plain message
    ├── NotAcceptable               406 NotAcceptable
    ├── AlreadyExists               409 AlreadyExists
    ├── Conflict                    409 Conflict
    ├── Gone                        410 Gone
    │   └── Expired                 410 Expired (watch/list from a compacted revision)
    ├── RequestEntityTooLarge       413 RequestEntityTooLarge
    ├── UnsupportedMediaType        415 UnsupportedMediaType
    ├── Invalid                     422 Invalid, one cause per FieldError
    ├── TooManyRequests             429 TooManyRequests, details.retryAfterSeconds
    ├── InternalError               500 InternalError
    ├── ServerTimeout               500 ServerTimeout (Kubernetes sends 500, not 504)
    ├── ServiceUnavailable          503 ServiceUnavailable
    └── Timeout                     504 Timeout
        └── ResourceVersionTooLarge 504 Timeout, cause ResourceVersionTooLarge

:class:`FieldError` mirrors Kubernetes' ``field.Error``: one problem with one
field, rendered as ``metadata.name: Invalid value: "X": …``; a list of them
makes an :class:`Invalid`. Bad values are printed the way Go's ``%q``/``%v``
print them (strings quoted, numbers bare, ``null``); lists and maps, which Go
prints as Go syntax, are printed as JSON here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, ClassVar

OPTIMISTIC_LOCK_MESSAGE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


class Reason(StrEnum):
    """``metav1.StatusReason``: the machine-readable why of a failure."""

    UNKNOWN = ""
    BAD_REQUEST = "BadRequest"
    UNAUTHORIZED = "Unauthorized"
    FORBIDDEN = "Forbidden"
    NOT_FOUND = "NotFound"
    METHOD_NOT_ALLOWED = "MethodNotAllowed"
    NOT_ACCEPTABLE = "NotAcceptable"
    ALREADY_EXISTS = "AlreadyExists"
    CONFLICT = "Conflict"
    GONE = "Gone"
    EXPIRED = "Expired"
    REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
    INVALID = "Invalid"
    TOO_MANY_REQUESTS = "TooManyRequests"
    INTERNAL_ERROR = "InternalError"
    SERVER_TIMEOUT = "ServerTimeout"
    SERVICE_UNAVAILABLE = "ServiceUnavailable"
    TIMEOUT = "Timeout"


class CauseType(StrEnum):
    """``metav1.CauseType`` (= ``field.ErrorType``): what is wrong with one field."""

    NOT_FOUND = "FieldValueNotFound"
    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    NOT_SUPPORTED = "FieldValueNotSupported"
    FORBIDDEN = "FieldValueForbidden"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    INTERNAL = "InternalError"
    TYPE_INVALID = "FieldValueTypeInvalid"
    UNEXPECTED_SERVER_RESPONSE = "UnexpectedServerResponse"
    FIELD_MANAGER_CONFLICT = "FieldManagerConflict"
    RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge"


_CAUSE_TEXT = {
    CauseType.NOT_FOUND: "Not found",
    CauseType.REQUIRED: "Required value",
    CauseType.DUPLICATE: "Duplicate value",
    CauseType.INVALID: "Invalid value",
    CauseType.NOT_SUPPORTED: "Unsupported value",
    CauseType.FORBIDDEN: "Forbidden",
    CauseType.TOO_LONG: "Too long",
    CauseType.TOO_MANY: "Too many",
    CauseType.INTERNAL: "Internal error",
    CauseType.TYPE_INVALID: "Invalid value",
}
# Kubernetes never prints the bad value for these.
_VALUELESS = frozenset({CauseType.REQUIRED, CauseType.FORBIDDEN, CauseType.TOO_LONG})
_VALUELESS |= {CauseType.INTERNAL}


class _Omitted(Enum):
    OMITTED = "omitted"


OMITTED = _Omitted.OMITTED
"""The bad value of a :class:`FieldError` that has none to show."""

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t"}
_GO_ESCAPES["\v"] = r"\v"


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` (``strconv.Quote``) quotes it."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\\ufffd")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _go_float(value: float) -> str:
    """A float as Go's ``%v`` prints it: shortest digits, exponent from 1e+06 up."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    point = len(digits) + exponent - 1  # value = d.ddd * 10**point
    neg = "-" if sign else ""
    if point < -4 or point >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{neg}{mantissa}e{'+' if point >= 0 else '-'}{abs(point):02d}"
    if point < 0:
        return f"{neg}0.{'0' * (-point - 1)}{digits}"
    whole = digits[: point + 1].ljust(point + 1, "0")
    fraction = digits[point + 1 :]
    return f"{neg}{whole}.{fraction}" if fraction else f"{neg}{whole}"


def format_value(value: object) -> str:
    """A bad value as Kubernetes prints it in a field error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: Kubernetes' ``field.Error``."""

    type: CauseType
    field: str
    value: object = OMITTED
    detail: str = ""

    def body(self) -> str:
        """The message without the field path, as it goes into a Status cause."""
        text = _CAUSE_TEXT.get(self.type, str(self.type))
        if self.type not in _VALUELESS and self.value is not OMITTED:
            text = f"{text}: {format_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def to_cause(self) -> StatusCause:
        return StatusCause(reason=self.type, message=self.body(), field=self.field)

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        return cls(CauseType.REQUIRED, field, OMITTED, detail)

    @classmethod
    def invalid(cls, field: str, value: object, detail: str = "") -> FieldError:
        return cls(CauseType.INVALID, field, value, detail)

    @classmethod
    def type_invalid(cls, field: str, value: object, detail: str = "") -> FieldError:
        return cls(CauseType.TYPE_INVALID, field, value, detail)

    @classmethod
    def not_supported(cls, field: str, value: object, supported: Iterable[str]) -> FieldError:
        quoted = [go_quote(str(v)) for v in supported]
        detail = "supported values: " + ", ".join(quoted) if quoted else ""
        return cls(CauseType.NOT_SUPPORTED, field, value, detail)

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        return cls(CauseType.FORBIDDEN, field, OMITTED, detail)

    @classmethod
    def duplicate(cls, field: str, value: object) -> FieldError:
        return cls(CauseType.DUPLICATE, field, value)

    @classmethod
    def not_found(cls, field: str, value: object) -> FieldError:
        return cls(CauseType.NOT_FOUND, field, value)

    @classmethod
    def too_long(cls, field: str, max_length: int) -> FieldError:
        """The value is not shown: it may be huge. A negative ``max_length`` means unknown."""
        unit = "byte" if max_length == 1 else "bytes"
        detail = f"may not be more than {max_length} {unit}" if max_length >= 0 else ""
        return cls(CauseType.TOO_LONG, field, OMITTED, detail or "value is too long")

    @classmethod
    def too_many(cls, field: str, actual: int, maximum: int) -> FieldError:
        detail = f"must have at most {maximum} items" if maximum >= 0 else "too many items"
        return cls(CauseType.TOO_MANY, field, actual if actual >= 0 else OMITTED, detail)

    @classmethod
    def internal(cls, field: str, detail: str) -> FieldError:
        return cls(CauseType.INTERNAL, field, OMITTED, detail)


def field_errors_message(errors: Iterable[FieldError]) -> str:
    """Kubernetes' aggregate text: one message bare, several ``[a, b]``, repeats dropped."""
    unique = list(dict.fromkeys(str(e) for e in errors))
    if len(unique) == 1:
        return unique[0]
    return "[" + ", ".join(unique) + "]" if unique else ""


@dataclass(frozen=True, slots=True)
class StatusCause:
    """``metav1.StatusCause``; ``reason`` is the JSON key Kubernetes uses for its type."""

    reason: str = ""
    message: str = ""
    field: str = ""

    def to_dict(self) -> dict[str, str]:
        pairs = (("reason", self.reason), ("message", self.message), ("field", self.field))
        return {key: str(value) for key, value in pairs if value}


@dataclass(frozen=True, slots=True)
class StatusDetails:
    """``metav1.StatusDetails``: which object failed and why, field by field."""

    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: tuple[StatusCause, ...] = ()
    retry_after_seconds: int = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("name", self.name), ("group", self.group), ("kind", self.kind)):
            if value:
                out[key] = value
        if self.uid:
            out["uid"] = self.uid
        if self.causes:
            out["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after_seconds:
            out["retryAfterSeconds"] = self.retry_after_seconds
        return out

    @classmethod
    def from_dict(cls, data: object) -> StatusDetails:
        d = data if isinstance(data, Mapping) else {}
        causes = d.get("causes") if isinstance(d.get("causes"), list) else []
        retry = d.get("retryAfterSeconds")
        return cls(
            name=_str(d.get("name")),
            group=_str(d.get("group")),
            kind=_str(d.get("kind")),
            uid=_str(d.get("uid")),
            causes=tuple(
                StatusCause(_str(c.get("reason")), _str(c.get("message")), _str(c.get("field")))
                for c in causes or ()
                if isinstance(c, Mapping)
            ),
            retry_after_seconds=retry if isinstance(retry, int) and retry > 0 else 0,
        )


_BY_REASON: dict[str, type[StatusError]] = {}
_BY_CODE: dict[int, type[StatusError]] = {}


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _qualified(resource: str, group: str) -> str:
    """``schema.GroupResource.String()`` (also GroupKind): ``deployments.apps``, ``pods``."""
    return f"{resource}.{group}" if group else resource


class StatusError(Exception):
    """An API failure, carrying everything a ``metav1.Status`` says about it."""

    default_code: ClassVar[int] = 500
    default_reason: ClassVar[Reason] = Reason.UNKNOWN

    def __init_subclass__(cls) -> None:
        # from_status picks the first class defined for a reason, or else for a
        # code; a class without a reason of its own (reason "") names no reason.
        super().__init_subclass__()
        if cls.default_reason:
            _BY_REASON.setdefault(cls.default_reason, cls)
        _BY_CODE.setdefault(cls.default_code, cls)

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        reason: str | None = None,
        details: StatusDetails | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = self.default_code if code is None else code
        self.reason = str(self.default_reason if reason is None else reason)
        self.details = details

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, reason={self.reason!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (StatusError.from_status, (self.to_status(),))

    @property
    def retry_after_seconds(self) -> int:
        return self.details.retry_after_seconds if self.details else 0

    @property
    def causes(self) -> tuple[StatusCause, ...]:
        return self.details.causes if self.details else ()

    def to_status(self) -> dict[str, Any]:
        """The ``Status`` object, keys in Kubernetes' order, empty fields left out."""
        out: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}}
        out["status"] = "Failure"
        if self.message:
            out["message"] = self.message
        if self.reason:
            out["reason"] = self.reason
        if self.details is not None:
            out["details"] = self.details.to_dict()
        if self.code:
            out["code"] = self.code
        return out

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> StatusError:
        """The error a received ``Status`` describes, as the most specific class that fits."""
        reason = _str(status.get("reason"))
        code = status.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else 0
        details = StatusDetails.from_dict(status["details"]) if "details" in status else None
        target: type[StatusError] = _BY_REASON.get(reason) or _BY_CODE.get(code) or StatusError
        if (
            target is Timeout
            and details
            and any(c.reason == CauseType.RESOURCE_VERSION_TOO_LARGE for c in details.causes)
        ):
            target = ResourceVersionTooLarge
        err = target.__new__(target)
        StatusError.__init__(
            err, _str(status.get("message")), code=code, reason=reason, details=details
        )
        return err


class BadRequest(StatusError):
    default_code, default_reason = 400, Reason.BAD_REQUEST


class Unauthorized(StatusError):
    default_code, default_reason = 401, Reason.UNAUTHORIZED

    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message or "not authorized")


class Forbidden(StatusError):
    default_code, default_reason = 403, Reason.FORBIDDEN

    def __init__(self, resource: str, name: str = "", detail: str = "", *, group: str = "") -> None:
        target = _qualified(resource, group)
        if not target:
            message = f"forbidden: {detail}"
        elif not name:
            message = f"{target} is forbidden: {detail}"
        else:
            message = f"{target} {go_quote(name)} is forbidden: {detail}"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=resource))

    @classmethod
    def for_request(
        cls,
        *,
        user: str,
        verb: str,
        resource: str = "",
        group: str = "",
        namespace: str = "",
        name: str = "",
        subresource: str = "",
        path: str = "",
        authorizer_reason: str = "",
    ) -> Forbidden:
        """The API server's denial; no ``resource`` means a non-resource ``path``."""
        if not resource:
            text = f"User {go_quote(user)} cannot {verb} path {go_quote(path)}"
        else:
            what = f"{resource}/{subresource}" if subresource else resource
            text = f"User {go_quote(user)} cannot {verb} resource {go_quote(what)}"
            text += f" in API group {go_quote(group)}"
            if namespace:
                text += f" in the namespace {go_quote(namespace)}"
            else:
                text += " at the cluster scope"
        if authorizer_reason:
            text = f"{text}: {authorizer_reason}"
        return cls(resource, name, text, group=group)


class NotFound(StatusError):
    default_code, default_reason = 404, Reason.NOT_FOUND

    def __init__(self, resource: str, name: str, *, group: str = "") -> None:
        message = f"{_qualified(resource, group)} {go_quote(name)} not found"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=resource))


class MethodNotAllowed(StatusError):
    default_code, default_reason = 405, Reason.METHOD_NOT_ALLOWED

    def __init__(self, resource: str, action: str, *, group: str = "") -> None:
        target = go_quote(_qualified(resource, group))
        message = f"{action} is not supported on resources of kind {target}"
        super().__init__(message, details=StatusDetails(group=group, kind=resource))


class NotAcceptable(StatusError):
    default_code, default_reason = 406, Reason.NOT_ACCEPTABLE

    def __init__(self, accepted: Iterable[str]) -> None:
        types = ", ".join(accepted)
        super().__init__(f"only the following media types are accepted: {types}")


class AlreadyExists(StatusError):
    default_code, default_reason = 409, Reason.ALREADY_EXISTS

    def __init__(self, resource: str, name: str, *, group: str = "") -> None:
        message = f"{_qualified(resource, group)} {go_quote(name)} already exists"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=resource))


class Conflict(StatusError):
    default_code, default_reason = 409, Reason.CONFLICT

    def __init__(
        self, resource: str, name: str, detail: str = OPTIMISTIC_LOCK_MESSAGE, *, group: str = ""
    ) -> None:
        target = f"{_qualified(resource, group)} {go_quote(name)}"
        message = f"Operation cannot be fulfilled on {target}: {detail}"
        super().__init__(message, details=StatusDetails(name=name, group=group, kind=resource))


class Gone(StatusError):
    default_code, default_reason = 410, Reason.GONE


class Expired(Gone):
    """What a watch or list from a compacted revision gets (``NewResourceExpired``)."""

    default_reason = Reason.EXPIRED

    @classmethod
    def too_old_resource_version(cls, requested: int, oldest: int) -> Expired:
        return cls(f"too old resource version: {requested} ({oldest})")


class RequestEntityTooLarge(StatusError):
    default_code, default_reason = 413, Reason.REQUEST_ENTITY_TOO_LARGE

    def __init__(self, message: str) -> None:
        super().__init__(f"Request entity too large: {message}")


class UnsupportedMediaType(StatusError):
    default_code, default_reason = 415, Reason.UNSUPPORTED_MEDIA_TYPE

    def __init__(self, accepted: Iterable[str]) -> None:
        types = ", ".join(accepted)
        super().__init__(
            "the body of the request was in an unknown format - "
            f"accepted media types include: {types}"
        )


class Invalid(StatusError):
    default_code, default_reason = 422, Reason.INVALID
    errors: tuple[FieldError, ...] = ()

    def __init__(
        self, kind: str, name: str, errors: Iterable[FieldError] = (), *, group: str = ""
    ) -> None:
        errs = tuple(errors)
        message = f"{_qualified(kind, group)} {go_quote(name)} is invalid"
        if errs:
            message += ": " + field_errors_message(errs)
        causes = tuple(e.to_cause() for e in errs)
        details = StatusDetails(name=name, group=group, kind=kind, causes=causes)
        super().__init__(message, details=details)
        self.errors = errs


class TooManyRequests(StatusError):
    default_code, default_reason = 429, Reason.TOO_MANY_REQUESTS

    def __init__(
        self,
        message: str = "Too many requests, please try again later.",
        retry_after_seconds: int = 1,
    ) -> None:
        super().__init__(message, details=StatusDetails(retry_after_seconds=retry_after_seconds))


class InternalError(StatusError):
    default_code, default_reason = 500, Reason.INTERNAL_ERROR

    def __init__(self, error: str | BaseException) -> None:
        text = str(error)
        details = StatusDetails(causes=(StatusCause(message=text),))
        super().__init__(f"Internal error occurred: {text}", details=details)


class ServerTimeout(StatusError):
    default_code, default_reason = 500, Reason.SERVER_TIMEOUT

    def __init__(
        self, resource: str, operation: str, retry_after_seconds: int = 0, *, group: str = ""
    ) -> None:
        message = (
            f"The {operation} operation against {_qualified(resource, group)} could not be "
            "completed at this time, please try again."
        )
        details = StatusDetails(
            name=operation, group=group, kind=resource, retry_after_seconds=retry_after_seconds
        )
        super().__init__(message, details=details)


class ServiceUnavailable(StatusError):
    default_code, default_reason = 503, Reason.SERVICE_UNAVAILABLE


class Timeout(StatusError):
    default_code, default_reason = 504, Reason.TIMEOUT

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        details = StatusDetails(retry_after_seconds=retry_after_seconds)
        super().__init__(f"Timeout: {message}", details=details)


class ResourceVersionTooLarge(Timeout):
    """A read asked for a revision this server has not seen yet; the client retries."""

    def __init__(self, requested: int, current: int, retry_after_seconds: int = 1) -> None:
        super().__init__(
            f"Too large resource version: {requested}, current: {current}", retry_after_seconds
        )
        cause = StatusCause(CauseType.RESOURCE_VERSION_TOO_LARGE, "Too large resource version")
        self.details = StatusDetails(causes=(cause,), retry_after_seconds=retry_after_seconds)


# Errors about things that are not API objects (the server's own paths, health
# checks), named as the API server package uses them: same code and reason, the
# message as given, and empty details as Kubernetes sends for an unknown path.
UnauthorizedError = Unauthorized


class NotFoundError(NotFound):
    def __init__(self, message: str = "the server could not find the requested resource") -> None:
        StatusError.__init__(self, message, details=StatusDetails())


class MethodNotAllowedError(MethodNotAllowed):
    def __init__(self, message: str) -> None:
        StatusError.__init__(self, message, details=StatusDetails())
