"""Any JSON document as a strategic merge patch gives a result or a `PatchError`, never a crash.

The API server turns a `PatchError` into 400 BadRequest or 422 Invalid; any
other exception would be a 500. Patches are drawn from JSON values biased
towards the shapes that matter: the fields of a Deployment's pod template,
merge lists, and every directive with good and bad arguments.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corral.machinery.patch import PatchError, apply_strategic_merge_patch, create_two_way_patch

KEYS = st.sampled_from(
    [
        "spec",
        "template",
        "containers",
        "env",
        "ports",
        "name",
        "value",
        "containerPort",
        "volumes",
        "strategy",
        "type",
        "rollingUpdate",
        "metadata",
        "finalizers",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$setElementOrder/finalizers",
        "$deleteFromPrimitiveList/finalizers",
        "$unknown",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "replace", "delete", "merge", "name", "x"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d", "finalizers": ["a", "b"]},
    "spec": {
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "a",
                        "env": [{"name": "x", "value": "1"}],
                        "ports": [{"containerPort": 1}],
                    },
                    {"name": "b"},
                ],
                "volumes": [{"name": "v", "emptyDir": {}}],
            }
        },
    },
}


@settings(max_examples=200)
@given(patch=st.dictionaries(KEYS, JSON, max_size=4))
def test_a_patch_applies_or_is_a_patch_error(patch: dict[str, Any]) -> None:
    outcome: Any
    try:
        outcome = apply_strategic_merge_patch(DEPLOYMENT, patch)
    except PatchError as exc:
        outcome = exc
    if isinstance(outcome, PatchError):
        assert outcome.status_code in (400, 422)
        assert outcome.message
    else:
        assert isinstance(outcome, dict)


@settings(max_examples=200)
@given(spec=st.dictionaries(KEYS, JSON, max_size=4))
def test_a_two_way_patch_is_computed_or_is_a_patch_error(spec: dict[str, Any]) -> None:
    modified = {**DEPLOYMENT, "spec": spec}
    outcome: Any = None
    try:
        create_two_way_patch(DEPLOYMENT, modified)
    except PatchError as exc:
        outcome = exc
    assert outcome is None or outcome.status_code == 422
