"""The node agent (DESIGN §2, layer 4): where pods run — for now, simulated nodes.

A Corral cluster needs nodes for its pods to land on. Until the podman/runc
agent exists, `simulated` registers nodes that keep their heartbeat fresh
and report the pods bound to them as running, so every workload feature can
be shown and measured at scale without running anything on the host.
"""
