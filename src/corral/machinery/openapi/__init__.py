"""OpenAPI for Corral's Kubernetes API: the real 1.32 schemas, validation, documents.

Pure functions and values, no HTTP; the API server serves what this builds.

* :func:`builtin_definitions` — the Kubernetes 1.32 ``components.schemas``
  shipped as package data, loaded lazily once (:func:`preload_in_background`).
* :func:`validate` — check an object of a built-in kind (or, with ``schema=``,
  against a CRD's ``openAPIV3Schema``) and get field errors and unknown fields;
  :class:`Validator` for repeated use and pruning.
* :func:`parse_json` / :func:`parse_yaml` — parse a body reporting duplicate keys.
* :func:`apply_field_validation` — what ``fieldValidation`` makes of unknown and
  duplicate fields; :func:`decode_and_check` — all of the above for a write's
  body, in Kubernetes' order (parse, validate, prune, fieldValidation).
* :class:`OpenAPIPublisher` — ``/openapi/v3`` (index and per group-version) and
  ``/openapi/v2`` documents (JSON and protobuf) for a list of
  :class:`ServedResource`, with ETags.

Errors (see :mod:`corral.machinery.openapi.errors`)::

    OpenAPIError
    ├── DefinitionsUnavailable
    ├── SchemaNotFound
    └── DecodeError
"""

from __future__ import annotations

from corral.machinery.openapi.decode import Decoded, parse_json, parse_yaml
from corral.machinery.openapi.definitions import (
    GVK,
    Definitions,
    builtin_definitions,
    preload_in_background,
)
from corral.machinery.openapi.errors import (
    DecodeError,
    DefinitionsUnavailable,
    OpenAPIError,
    SchemaNotFound,
)
from corral.machinery.openapi.field_validation import (
    FieldValidation,
    apply_field_validation,
    decoding_context,
    parse_field_validation,
)
from corral.machinery.openapi.intake import Intake, check_object, decode_and_check
from corral.machinery.openapi.protobuf import PROTOBUF_ACCEPT_TYPES, PROTOBUF_CONTENT_TYPE
from corral.machinery.openapi.publisher import (
    Document,
    OpenAPIPublisher,
    definition_name,
)
from corral.machinery.openapi.resources import ServedResource, Subresource, scale, status_of
from corral.machinery.openapi.validator import ValidationResult, Validator, validate

__all__ = [
    "GVK",
    "PROTOBUF_ACCEPT_TYPES",
    "PROTOBUF_CONTENT_TYPE",
    "DecodeError",
    "Decoded",
    "Definitions",
    "DefinitionsUnavailable",
    "Document",
    "FieldValidation",
    "Intake",
    "OpenAPIError",
    "OpenAPIPublisher",
    "SchemaNotFound",
    "ServedResource",
    "Subresource",
    "ValidationResult",
    "Validator",
    "apply_field_validation",
    "builtin_definitions",
    "check_object",
    "decode_and_check",
    "decoding_context",
    "definition_name",
    "parse_field_validation",
    "parse_json",
    "parse_yaml",
    "preload_in_background",
    "scale",
    "status_of",
    "validate",
]
