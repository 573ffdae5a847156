"""Endpoints for Services: the ``endpoints`` and ``endpointslice`` controllers.

Both follow Services and pods and list, for each Service with a selector,
the addresses of its pods and whether each is ready — the Endpoints object
(core/v1, what ``kubectl get endpoints`` shows and older clients read) and
the EndpointSlices (discovery.k8s.io/v1, what kube-proxy and DNS read).
The pod rules they share are in `pods`; each controller is its own module
and its own ``--controllers`` name.

Register in ``corral.kube.manager.CONTROLLERS``::

    "endpoints": endpoints.build,
    "endpointslice": endpoints.build_endpointslice,
"""

from corral.kube.endpoints.endpoints import build
from corral.kube.endpoints.slices import build as build_endpointslice

__all__ = ["build", "build_endpointslice"]
