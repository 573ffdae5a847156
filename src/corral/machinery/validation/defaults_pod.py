"""The defaults Kubernetes 1.32 fills into a PodSpec, a pod template and a Pod.

These are the values users see in ``kubectl get -o yaml`` without having
written them (``pkg/apis/core/v1/defaults.go``): restart and DNS policy,
scheduler, grace period, an empty security context; per container the image
pull policy (``Always`` for ``:latest`` or no tag, else ``IfNotPresent``), the
termination message path and policy, port protocols, probe timings, an empty
``resources``; per volume the 0644 (420) default mode and ``emptyDir`` for a
volume without a source.

What only a Pod (not a template) gets is decided in :func:`default_pod`:
``enableServiceLinks``, requests copied from limits, and what the admission
plugins a real cluster runs add (``priority``/``preemptionPolicy`` from
Priority, the 300 s not-ready/unreachable tolerations from
DefaultTolerationSeconds). Nothing here overwrites a value the user gave.
"""

from __future__ import annotations

from corral.machinery.validation.common import Obj, child, items, mapping, text

DEFAULT_MODE = 0o644
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_VOLUME_MODES = ("secret", "configMap", "downwardAPI", "projected")
_NOT_READY = "node.kubernetes.io/not-ready"
_UNREACHABLE = "node.kubernetes.io/unreachable"


def image_pull_policy(image: str) -> str:
    """``Always`` for a ``:latest`` or untagged image (a digest counts as a tag), else
    ``IfNotPresent``."""
    name = image.split("@", 1)[0]
    has_digest = "@" in image
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag and not has_digest:
        tag = "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def default_pod_spec(spec: Obj) -> None:
    """``SetDefaults_PodSpec`` and the defaults of everything inside it."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in items(spec.get(field)):
            if isinstance(container, dict):
                _default_container(container)
    for volume in items(spec.get("volumes")):
        if isinstance(volume, dict):
            _default_volume(volume)


def default_pod_template(template: object) -> None:
    """A workload's ``spec.template``: its PodSpec defaults (no Pod-only ones)."""
    if isinstance(template, dict):
        default_pod_spec(child(template, "spec"))


def default_pod(pod: Obj) -> None:
    """``SetDefaults_Pod`` on top of the PodSpec defaults, plus what admission adds."""
    spec = child(pod, "spec")
    default_pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    for field in ("initContainers", "containers"):
        for container in items(spec.get(field)):
            _requests_from_limits(mapping(container).get("resources"))
    if spec.get("hostNetwork") is True:
        for field in ("initContainers", "containers"):
            for container in items(spec.get(field)):
                for port in items(mapping(container).get("ports")):
                    if isinstance(port, dict) and "containerPort" in port:
                        port.setdefault("hostPort", port["containerPort"])
    if not spec.get("priorityClassName"):
        spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    _default_tolerations(spec)
    status = child(pod, "status")
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def qos_class(spec: Obj) -> str:
    """``GetPodQOS``: Guaranteed when every container's cpu and memory requests equal their
    limits, BestEffort when nothing is requested or limited, else Burstable."""
    guaranteed, anything = True, False
    for field in ("initContainers", "containers"):
        for container in items(spec.get(field)):
            resources = mapping(mapping(container).get("resources"))
            requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
            if any(k in ("cpu", "memory") for k in (*requests, *limits)):
                anything = True
            for name in ("cpu", "memory"):
                if name not in limits or str(requests.get(name)) != str(limits[name]):
                    guaranteed = False
    if not anything:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _requests_from_limits(resources: object) -> None:
    if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
        return
    requests = child(resources, "requests")
    for name, quantity in resources["limits"].items():
        requests.setdefault(name, quantity)


def _default_tolerations(spec: Obj) -> None:
    """DefaultTolerationSeconds: tolerate not-ready and unreachable nodes for 300 s."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    added = []
    for key in (_NOT_READY, _UNREACHABLE):
        if not any(_tolerates(mapping(t), key) for t in tolerations):
            added.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )
    if added:
        spec["tolerations"] = tolerations + added


def _tolerates(toleration: Obj, key: str) -> bool:
    if toleration.get("effect") not in (None, "", "NoExecute"):
        return False
    if toleration.get("key") in (None, ""):
        return toleration.get("operator") == "Exists"
    return toleration.get("key") == key


def _default_container(container: Obj) -> None:
    container.setdefault("imagePullPolicy", image_pull_policy(text(container.get("image"))))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in items(container.get("ports")):
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for env in items(container.get("env")):
        field_ref = mapping(mapping(mapping(env).get("valueFrom")).get("fieldRef"))
        if field_ref:
            field_ref.setdefault("apiVersion", "v1")
    for name in _PROBES:
        probe = container.get(name)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            _default_handler(probe)
    lifecycle = mapping(container.get("lifecycle"))
    for hook in ("postStart", "preStop"):
        _default_handler(mapping(lifecycle.get(hook)))


def _default_handler(handler: Obj) -> None:
    http_get = handler.get("httpGet")
    if isinstance(http_get, dict):
        http_get.setdefault("path", "/")
        http_get.setdefault("scheme", "HTTP")


def _default_volume(volume: Obj) -> None:
    if not any(k != "name" for k in volume):
        volume["emptyDir"] = {}
        return
    for source in _VOLUME_MODES:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", DEFAULT_MODE)
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")
    for item in items(mapping(volume.get("downwardAPI")).get("items")):
        field_ref = mapping(mapping(item).get("fieldRef"))
        if field_ref:
            field_ref.setdefault("apiVersion", "v1")
    for projection in items(mapping(volume.get("projected")).get("sources")):
        token = mapping(projection).get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
