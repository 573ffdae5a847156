"""``--event-ttl`` reaches both Event APIs' storage lease, and nothing else's."""

from __future__ import annotations

from corral.apiserver.registry import Registry


def test_event_ttl_applies_to_core_and_events_k8s_io_events() -> None:
    registry = Registry.builtin(event_ttl=120)
    core = registry.lookup("", "v1", "events")
    events_v1 = registry.lookup("events.k8s.io", "v1", "events")
    configmaps = registry.lookup("", "v1", "configmaps")
    assert core is not None
    assert events_v1 is not None
    assert configmaps is not None
    assert (core.ttl, events_v1.ttl, configmaps.ttl) == (120, 120, 0)
    assert Registry.builtin().lookup("", "v1", "events").ttl == 3600  # type: ignore[union-attr]
