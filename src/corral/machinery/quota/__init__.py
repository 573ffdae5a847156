"""Resource quota arithmetic shared by the API server and the controllers.

`quantities`: exact quantity sums and Kubernetes' canonical text;
`usage`: what one object counts against a quota (Kubernetes' evaluators).
The admission plugin (``corral.apiserver.admission``) charges with them and
the resource quota controller (``corral.kube.resourcequota``) sums them, so
the two agree on every number.
"""

from corral.machinery.quota.quantities import (
    ZERO,
    format_like,
    format_quantity,
    format_usage,
    is_binary,
    milli,
    parse,
)
from corral.machinery.quota.usage import (
    COMPUTE_VALIDATION,
    ResourceList,
    count_name,
    covers,
    matches_scopes,
    pod_compute,
    quota_scopes,
    subtract,
    usage,
)

__all__ = [
    "COMPUTE_VALIDATION",
    "ZERO",
    "ResourceList",
    "count_name",
    "covers",
    "format_like",
    "format_quantity",
    "format_usage",
    "is_binary",
    "matches_scopes",
    "milli",
    "parse",
    "pod_compute",
    "quota_scopes",
    "subtract",
    "usage",
]
