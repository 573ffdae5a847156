"""``metadata`` rules every kind shares: apimachinery's ObjectMeta validation.

What it decides, on create (:func:`validate_object_meta`): a name or a
generateName is required (the name may still be ungenerated when this runs)
and both must have the kind's name format; a namespaced
object needs a valid namespace and a cluster-scoped one must not have one;
labels and annotations are well-formed (annotation keys are qualified names,
all annotations together at most 256 KiB); finalizers are qualified names and
not both ``orphan`` and ``foregroundDeletion``; owner references name an
apiVersion, kind, name and uid, and at most one of them is the controller.

On update (:func:`validate_object_meta_update`): uid, timestamps and generation
left out of the new object are taken from the old one (as Kubernetes'
``BeforeUpdate`` does, so ``kubectl replace`` works); then name, namespace, uid,
creationTimestamp, deletionTimestamp and deletionGracePeriodSeconds never
change, generation never goes down, and an object being deleted cannot gain
finalizers.
"""

from __future__ import annotations

from corral.machinery.labels import validate_labels
from corral.machinery.status import FieldError
from corral.machinery.validation.common import (
    Obj,
    immutable,
    is_int,
    items,
    join,
    mapping,
    nonnegative,
    text,
)
from corral.machinery.validation.names import NameFn, label_name, qualified_name_errors

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
_BANNED_OWNERS = {("", "v1", "Event")}


def validate_object_meta(
    obj: Obj, name_fn: NameFn, namespaced: bool | None, path: str = "metadata"
) -> list[FieldError]:
    """``ValidateObjectMeta``; ``namespaced=None`` (scope unknown) checks only the format."""
    meta = mapping(obj.get("metadata"))
    errors: list[FieldError] = []
    generate_name = text(meta.get("generateName"))
    if generate_name:
        where = join(path, "generateName")
        errors.extend(
            FieldError.invalid(where, generate_name, m) for m in name_fn(generate_name, True)
        )
    name = text(meta.get("name"))
    if not name:
        if not generate_name:
            detail = "name or generateName is required"
            errors.append(FieldError.required(join(path, "name"), detail))
    else:
        errors.extend(FieldError.invalid(join(path, "name"), name, m) for m in name_fn(name, False))
    errors.extend(_namespace_errors(text(meta.get("namespace")), namespaced, path))
    errors.extend(nonnegative(meta.get("generation"), join(path, "generation")))
    errors.extend(validate_labels(meta.get("labels"), join(path, "labels")))
    errors.extend(validate_annotations(meta.get("annotations"), join(path, "annotations")))
    errors.extend(
        validate_owner_references(meta.get("ownerReferences"), join(path, "ownerReferences"))
    )
    errors.extend(validate_finalizers(meta.get("finalizers"), join(path, "finalizers")))
    return errors


def _namespace_errors(namespace: str, namespaced: bool | None, path: str) -> list[FieldError]:
    where = join(path, "namespace")
    if namespaced is False:
        return [FieldError.forbidden(where, "not allowed on this type")] if namespace else []
    if not namespace:
        return [FieldError.required(where)] if namespaced else []
    return [FieldError.invalid(where, namespace, m) for m in label_name(namespace, False)]


def validate_annotations(annotations: object, path: str) -> list[FieldError]:
    """``ValidateAnnotations``: qualified keys (case-insensitive), 256 KiB in all."""
    errors: list[FieldError] = []
    total = 0
    for k, v in mapping(annotations).items():
        errors.extend(FieldError.invalid(path, k, m) for m in qualified_name_errors(k.lower()))
        total += len(k.encode()) + len(text(v).encode())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errors.append(FieldError.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errors


def validate_finalizers(finalizers: object, path: str) -> list[FieldError]:
    """``ValidateFinalizers``: qualified names; ``orphan`` excludes ``foregroundDeletion``."""
    names = [text(f) for f in items(finalizers)]
    errors = [FieldError.invalid(path, f, m) for f in names for m in qualified_name_errors(f)]
    if ORPHAN_FINALIZER in names and FOREGROUND_FINALIZER in names:
        detail = f"finalizer {ORPHAN_FINALIZER} and {FOREGROUND_FINALIZER} cannot be both set"
        errors.append(FieldError.invalid(path, names, detail))
    return errors


def _group_version(api_version: str) -> tuple[str, str]:
    """``schema.ParseGroupVersion``, with a malformed value reading as empty."""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""


def validate_owner_references(refs: object, path: str) -> list[FieldError]:
    """``ValidateOwnerReferences``: each one complete; one controller at most."""
    errors: list[FieldError] = []
    controller = ""
    ref_list = items(refs)
    for raw in ref_list:
        ref = mapping(raw)
        api_version, kind = text(ref.get("apiVersion")), text(ref.get("kind"))
        group, version = _group_version(api_version)
        if not version:
            errors.append(
                FieldError.invalid(
                    join(path, "apiVersion"), api_version, "version must not be empty"
                )
            )
        for field in ("kind", "name", "uid"):
            if not text(ref.get(field)):
                errors.append(
                    FieldError.invalid(join(path, field), text(ref.get(field)), "must not be empty")
                )
        if (group, version, kind) in _BANNED_OWNERS:
            gvk = f"{group}/{version}, Kind={kind}"
            errors.append(FieldError.invalid(path, ref, f"{gvk} is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{text(ref.get('name'))}"
            if controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {controller} and {current}"
                )
                errors.append(FieldError.invalid(path, ref_list, detail))
            else:
                controller = current
    return errors


SERVER_SET_FIELDS = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
)


def carry_server_fields(new: Obj, old: Obj) -> None:
    """What Kubernetes' ``BeforeUpdate`` does first: an update that leaves out the fields
    the server set (uid, timestamps, generation) keeps the old values, so replacing an
    object with its manifest works; a different value given is then refused."""
    new_meta, old_meta = new.get("metadata"), mapping(old.get("metadata"))
    if not isinstance(new_meta, dict):
        return
    for field in SERVER_SET_FIELDS:
        if new_meta.get(field) in (None, "") and old_meta.get(field) not in (None, ""):
            new_meta[field] = old_meta[field]


def validate_object_meta_update(new: Obj, old: Obj, path: str = "metadata") -> list[FieldError]:
    """``ValidateObjectMetaUpdate``: identity fields are immutable; no late finalizers.

    Server-set fields missing from ``new`` are first carried over from ``old``
    (:func:`carry_server_fields`), which mutates ``new``."""
    carry_server_fields(new, old)
    new_meta, old_meta = mapping(new.get("metadata")), mapping(old.get("metadata"))
    errors: list[FieldError] = []
    if old_meta.get("deletionTimestamp"):
        errors.extend(
            validate_no_new_finalizers(
                new_meta.get("finalizers"), old_meta.get("finalizers"), join(path, "finalizers")
            )
        )
    new_gen, old_gen = new_meta.get("generation"), old_meta.get("generation")
    if is_int(new_gen) and is_int(old_gen) and new_gen < old_gen:
        errors.append(
            FieldError.invalid(join(path, "generation"), new_gen, "must not be decremented")
        )
    for field in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"):
        new_value, old_value = new_meta.get(field) or "", old_meta.get(field) or ""
        errors.extend(immutable(new_value, old_value, join(path, field)))
    grace = "deletionGracePeriodSeconds"
    errors.extend(immutable(new_meta.get(grace), old_meta.get(grace), join(path, grace)))
    return errors


def validate_no_new_finalizers(new: object, old: object, path: str) -> list[FieldError]:
    """``ValidateNoNewFinalizers``: the object is being deleted."""
    extra = sorted({text(f) for f in items(new)} - {text(f) for f in items(old)})
    if not extra:
        return []
    detail = "no new finalizers can be added if the object is being deleted"
    return [FieldError.forbidden(path, f"{detail}, found {', '.join(extra)}")]
