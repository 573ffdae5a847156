"""Custom resources for the tests: the CRD resource and a schemaless namespaced CRD.

`open_crd` is a CustomResourceDefinition of one served, stored version
``v1`` that keeps whatever fields its objects carry (no schema to satisfy),
for tests about what happens to custom resources, not about validation.
"""

from __future__ import annotations

from typing import Any

from corral.client import ResourceRef

CRDS = ResourceRef(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    namespaced=False,
    kind="CustomResourceDefinition",
)


def open_crd(plural: str, kind: str, group: str = "example.com") -> dict[str, Any]:
    """The namespaced CRD ``<plural>.<group>``, version ``v1``, any fields kept."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }
