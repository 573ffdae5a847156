"""Serving CustomResourceDefinitions: a stored CRD becomes served resources.

`CRDController` (``controller``) follows the stored CRDs and keeps the
registry, the watch caches, discovery, OpenAPI and each CRD's status in
line; ``types`` turns a CRD into `ResourceType` records; ``status`` decides
conditions and name conflicts; ``defaults`` applies schema defaults;
``cleanup`` is what deleting a CRD does to its objects.
"""

from __future__ import annotations

from corral.apiserver.crds.cleanup import CLEANUP_FINALIZER, add_cleanup_finalizer
from corral.apiserver.crds.controller import CRDController, wait_until_served
from corral.apiserver.crds.types import CRD_GROUP, CRD_RESOURCE

__all__ = [
    "CLEANUP_FINALIZER",
    "CRD_GROUP",
    "CRD_RESOURCE",
    "CRDController",
    "add_cleanup_finalizer",
    "wait_until_served",
]
