"""Owner references on a real ``corral server``, driven by the real kubectl.

One server for the module, running the garbage collector (and the namespace
and service account controllers) under leader election with short lease
timings. A ConfigMap owns Secrets: ``kubectl delete`` (Background) takes the
Secrets with it; ``--cascade=foreground`` keeps the owner until its blocking
dependent is gone; ``--cascade=orphan`` leaves the Secrets without the
reference. The owners carry the finalizer of their policy from the start (as
the API server adds it for those policies), so the collector's side is what
is shown. Waits are ``kubectl wait`` or polls with deadlines.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import polling
from kubectlproc import get_json_or_none, kubectl_ok
from serverproc import CorralServer, controller_args, module_server

Obj = dict[str, Any]
DEADLINE = 45.0


server = module_server("gc", controller_args("namespace,garbagecollector,serviceaccount"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


poll = partial(polling.poll, deadline=DEADLINE)


def owner(server: CorralServer, home: Path, name: str, *finalizers: str) -> str:
    """Create ConfigMap ``name`` (with ``finalizers``); its uid."""
    meta: Obj = {"name": name}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    kubectl_ok(server, home, "apply", "-f", "-", stdin=json.dumps(doc))
    return kubectl_ok(server, home, "get", "configmap", name, "-o", "jsonpath={.metadata.uid}")


def dependent(
    server: CorralServer, home: Path, name: str, owner_name: str, uid: str, **extra: Any
) -> None:
    ref: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner_name, "uid": uid}
    if extra.pop("block", False):
        ref["blockOwnerDeletion"] = True
    meta = {"name": name, "ownerReferences": [ref], **extra}
    doc = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"k": "v"}}
    kubectl_ok(server, home, "apply", "-f", "-", stdin=json.dumps(doc))


def test_background_delete_takes_the_dependents(server: CorralServer, home: Path) -> None:
    uid = owner(server, home, "bg-owner")
    dependent(server, home, "bg-a", "bg-owner", uid)
    dependent(server, home, "bg-b", "bg-owner", uid)
    kubectl_ok(server, home, "delete", "configmap", "bg-owner")
    kubectl_ok(server, home, "wait", "--for=delete", "secret/bg-a", "secret/bg-b", "--timeout=45s")


def test_foreground_delete_waits_for_blocking_dependents(server: CorralServer, home: Path) -> None:
    uid = owner(server, home, "fg-owner", "foregroundDeletion")
    dependent(server, home, "fg-dep", "fg-owner", uid, block=True, finalizers=["example.com/hold"])
    kubectl_ok(
        server, home, "delete", "configmap", "fg-owner", "--cascade=foreground", "--wait=false"
    )

    def dependent_marked() -> bool:
        got = get_json_or_none(server, home, "secret", "fg-dep")
        return got is not None and bool(got["metadata"].get("deletionTimestamp"))

    poll(dependent_marked, "the blocking dependent is being deleted")
    still = get_json_or_none(server, home, "configmap", "fg-owner")
    assert still is not None
    assert still["metadata"]["deletionTimestamp"]
    kubectl_ok(
        server,
        home,
        "patch",
        "secret",
        "fg-dep",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    kubectl_ok(
        server,
        home,
        "wait",
        "--for=delete",
        "secret/fg-dep",
        "configmap/fg-owner",
        "--timeout=45s",
    )


def test_orphan_delete_keeps_dependents_without_the_reference(
    server: CorralServer, home: Path
) -> None:
    uid = owner(server, home, "or-owner", "orphan")
    dependent(server, home, "or-dep", "or-owner", uid)
    kubectl_ok(server, home, "delete", "configmap", "or-owner", "--cascade=orphan")
    kubectl_ok(server, home, "wait", "--for=delete", "configmap/or-owner", "--timeout=45s")
    got = get_json_or_none(server, home, "secret", "or-dep")
    assert got is not None
    assert not got["metadata"].get("ownerReferences")
