"""The errors of :mod:`corral.machinery.openapi`, one tree for the subpackage.

Schema validation problems are not errors here: they are values (field errors,
unknown and duplicate field paths) that the caller turns into a ``Status``. What
raises is what the caller cannot go on from:

    OpenAPIError                base of everything this subpackage raises
    ├── DefinitionsUnavailable  the shipped built-in definitions could not be read
    ├── SchemaNotFound          no schema for a GVK or a ``$ref`` that does not resolve
    └── DecodeError             a request body that is not valid JSON/YAML (→ 400)
"""

from __future__ import annotations


class OpenAPIError(Exception):
    """Base of the errors raised by :mod:`corral.machinery.openapi`."""


class DefinitionsUnavailable(OpenAPIError):
    """The built-in definitions shipped as package data are missing or corrupt."""


class SchemaNotFound(OpenAPIError, LookupError):
    """No schema is known for a group-version-kind, or a ``$ref`` does not resolve."""


class DecodeError(OpenAPIError, ValueError):
    """A request body is not well-formed JSON or YAML, or is not one object."""
