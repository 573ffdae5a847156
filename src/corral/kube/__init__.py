"""Kubernetes' built-in controllers, as Corral runs them (DESIGN §2, layer 4).

A Corral cluster behaves like Kubernetes only if what kube-controller-manager
and kube-scheduler do happens here too: namespaces empty themselves when
deleted, owners take their dependents with them, deployments roll out
through replica sets, pending pods get a node. Each controller is a module
with a ``build(ctx)`` function (`context`); `manager` runs them all under
leader election inside ``corral server``, through the loopback client.
"""
