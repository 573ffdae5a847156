"""PodSpec rules, shared by Pods and by every workload's pod template.

What it decides (``pkg/apis/core/validation`` as of Kubernetes 1.32): a pod
has at least one container; container names are DNS-1123 labels, unique
across init and regular containers; every container has an image; container
ports are 1-65535 with unique IANA_SVC_NAME names and a known protocol;
environment variable names are printable ASCII without ``=``; a resource request
never exceeds its limit; volumes have
unique DNS-1123 label names and every volume mount names one of them; the
restart, DNS and image pull policies are known values. And for updates of a
Pod, which parts of its spec may change at all.
"""

from __future__ import annotations

from typing import Any

from corral.machinery.labels import validate_labels
from corral.machinery.status import FieldError
from corral.machinery.validation.common import (
    NONNEGATIVE,
    Obj,
    is_int,
    items,
    join,
    key,
    mapping,
    nonnegative,
    text,
)
from corral.machinery.validation.meta import validate_annotations
from corral.machinery.validation.names import (
    dns1123_label_errors,
    env_var_name_errors,
    port_name_errors,
    port_number_errors,
)
from corral.machinery.validation.quantity import quantity_value

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
MAX_INT32 = 2**31 - 1
POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def validate_pod_spec(
    spec: Obj, path: str, claim_volumes: frozenset[str] = frozenset()
) -> list[FieldError]:
    """``ValidatePodSpec`` for the rules users hit; ``claim_volumes`` are the volumes a
    StatefulSet's claim templates add."""
    errors: list[FieldError] = []
    volumes = _volume_names(spec.get("volumes"), join(path, "volumes"), errors) | claim_volumes
    containers = items(spec.get("containers"))
    if not containers:
        errors.append(FieldError.required(join(path, "containers")))
    seen: set[str] = set()
    for field in ("initContainers", "containers"):
        for i, raw in enumerate(items(spec.get(field))):
            where = f"{join(path, field)}[{i}]"
            errors.extend(_container_errors(mapping(raw), where, seen, volumes))
    errors.extend(_enum(spec.get("restartPolicy"), join(path, "restartPolicy"), RESTART_POLICIES))
    errors.extend(_enum(spec.get("dnsPolicy"), join(path, "dnsPolicy"), DNS_POLICIES))
    deadline = spec.get("activeDeadlineSeconds")
    if is_int(deadline) and not 1 <= deadline <= MAX_INT32:
        detail = f"must be between 1 and {MAX_INT32}, inclusive"
        errors.append(FieldError.invalid(join(path, "activeDeadlineSeconds"), deadline, detail))
    grace = "terminationGracePeriodSeconds"
    errors.extend(nonnegative(spec.get(grace), join(path, grace)))
    return errors


def validate_pod_template(
    template: object, path: str, claim_volumes: frozenset[str] = frozenset()
) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: the template's labels, annotations and spec."""
    if not isinstance(template, dict):
        return [FieldError.required(path)]
    meta = mapping(template.get("metadata"))
    errors = validate_labels(meta.get("labels"), join(path, "metadata.labels"))
    errors.extend(validate_annotations(meta.get("annotations"), join(path, "metadata.annotations")))
    errors.extend(
        validate_pod_spec(mapping(template.get("spec")), join(path, "spec"), claim_volumes)
    )
    return errors


def _enum(value: object, path: str, allowed: tuple[str, ...]) -> list[FieldError]:
    """A required enum field: empty is Required, unknown is NotSupported."""
    if value in (None, ""):
        return [FieldError.required(path)]
    if value not in allowed:
        return [FieldError.not_supported(path, value, allowed)]
    return []


def _volume_names(volumes: object, path: str, errors: list[FieldError]) -> set[str]:
    names: set[str] = set()
    for i, raw in enumerate(items(volumes)):
        where = f"{path}[{i}].name"
        name = text(mapping(raw).get("name"))
        if not name:
            errors.append(FieldError.required(where))
            continue
        errors.extend(FieldError.invalid(where, name, m) for m in dns1123_label_errors(name))
        if name in names:
            errors.append(FieldError.duplicate(where, name))
        names.add(name)
    return names


def _container_errors(
    container: Obj, path: str, seen: set[str], volumes: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    name = text(container.get("name"))
    if not name:
        errors.append(FieldError.required(join(path, "name")))
    else:
        errors.extend(
            FieldError.invalid(join(path, "name"), name, m) for m in dns1123_label_errors(name)
        )
        if name in seen:
            errors.append(FieldError.duplicate(join(path, "name"), name))
        seen.add(name)
    image = text(container.get("image"))
    if not image:
        errors.append(FieldError.required(join(path, "image")))
    elif image != image.strip():
        detail = "must not have leading or trailing whitespace"
        errors.append(FieldError.invalid(join(path, "image"), image, detail))
    policy = container.get("imagePullPolicy")
    errors.extend(_enum(policy, join(path, "imagePullPolicy"), PULL_POLICIES))
    errors.extend(_port_errors(container.get("ports"), join(path, "ports")))
    errors.extend(_resource_errors(mapping(container.get("resources")), join(path, "resources")))
    for i, raw in enumerate(items(container.get("env"))):
        where = f"{join(path, 'env')}[{i}].name"
        env_name = text(mapping(raw).get("name"))
        if not env_name:
            errors.append(FieldError.required(where))
        errors.extend(FieldError.invalid(where, env_name, m) for m in env_var_name_errors(env_name))
    for i, raw in enumerate(items(container.get("volumeMounts"))):
        mount, where = mapping(raw), f"{join(path, 'volumeMounts')}[{i}]"
        mount_name = text(mount.get("name"))
        if not mount_name:
            errors.append(FieldError.required(join(where, "name")))
        elif mount_name not in volumes:
            errors.append(FieldError.not_found(join(where, "name"), mount_name))
        if not text(mount.get("mountPath")):
            errors.append(FieldError.required(join(where, "mountPath")))
    return errors


def _resource_errors(resources: Obj, path: str) -> list[FieldError]:
    """``ValidateResourceRequirements``: a request never exceeds its limit; requests of
    resources that cannot be overcommitted (hugepages, extended ones) equal the limit."""
    requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
    where = join(path, "requests")
    errors: list[FieldError] = []
    for name, quantity in requests.items():
        value = quantity_value(quantity)
        if value is not None and value < 0:
            errors.append(FieldError.invalid(key(where, name), str(quantity), NONNEGATIVE))
        limit = limits.get(name)
        limit_value = quantity_value(limit)
        overcommit = "/" not in name or name.startswith("kubernetes.io/")
        overcommit = overcommit and not name.startswith("hugepages-")
        if limit is None:
            if not overcommit:
                detail = "Limit must be set for non overcommitable resources"
                errors.append(FieldError.required(join(path, "limits"), detail))
        elif value is None or limit_value is None:
            continue
        elif not overcommit and value != limit_value:
            detail = f"must be equal to {name} limit of {limit}"
            errors.append(FieldError.invalid(where, str(quantity), detail))
        elif value > limit_value:
            detail = f"must be less than or equal to {name} limit of {limit}"
            errors.append(FieldError.invalid(where, str(quantity), detail))
    return errors


def _port_errors(ports: object, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, raw in enumerate(items(ports)):
        port, where = mapping(raw), f"{path}[{i}]"
        name = text(port.get("name"))
        if name:
            messages = port_name_errors(name)
            errors.extend(FieldError.invalid(join(where, "name"), name, m) for m in messages)
            if not messages and name in names:
                errors.append(FieldError.duplicate(join(where, "name"), name))
            names.add(name)
        number = port.get("containerPort")
        if not number:
            errors.append(FieldError.required(join(where, "containerPort")))
        elif is_int(number):
            errors.extend(
                FieldError.invalid(join(where, "containerPort"), number, m)
                for m in port_number_errors(number)
            )
        host = port.get("hostPort")
        if is_int(host) and host != 0:
            errors.extend(
                FieldError.invalid(join(where, "hostPort"), host, m)
                for m in port_number_errors(host)
            )
        errors.extend(_enum(port.get("protocol"), join(where, "protocol"), PROTOCOLS))
    return errors


def validate_pod_update(new: Obj, old: Obj) -> list[FieldError]:
    """``ValidatePodUpdate``, simplified: only images, activeDeadlineSeconds, tolerations
    (additions), terminationGracePeriodSeconds and a first nodeName may change."""
    new_spec, old_spec = mapping(new.get("spec")), mapping(old.get("spec"))
    if _mutable_view(new_spec, old_spec) != _mutable_view(old_spec, old_spec):
        return [FieldError.forbidden("spec", POD_UPDATE_FORBIDDEN)]
    old_tolerations = items(old_spec.get("tolerations"))
    new_tolerations = items(new_spec.get("tolerations"))
    if any(t not in new_tolerations for t in old_tolerations):
        return [FieldError.forbidden("spec", POD_UPDATE_FORBIDDEN)]
    return []


def _mutable_view(spec: Obj, old: Obj) -> dict[str, Any]:
    """``spec`` with the fields an update may change blanked out."""
    view = {k: v for k, v in spec.items() if k not in _MUTABLE}
    if not old.get("nodeName"):
        view.pop("nodeName", None)
    for field in ("containers", "initContainers"):
        view[field] = [
            {k: v for k, v in mapping(c).items() if k != "image"} for c in items(spec.get(field))
        ]
    return view


_MUTABLE = frozenset({"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"})
