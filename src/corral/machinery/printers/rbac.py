"""Tables for rbac.authorization.k8s.io/v1: roles, cluster roles and their bindings.

Roles and cluster roles have no printer in Kubernetes; they get the default
table (NAME, CREATED AT), which ``table.py`` provides. Bindings show ROLE as
"Kind/name" of the role reference and, wide, the subjects split by kind: users
and groups by name, service accounts as "namespace:name", each list joined by
", " (``rbac.SubjectsStrings``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.machinery.printers import descriptions as doc
from corral.machinery.printers.cells import dig, items, name, text
from corral.machinery.printers.columns import AGE, NAME, ColumnDefinition, Obj, Printer, wide
from corral.machinery.printers.duration import since


def _binding_columns(kind: str, role_ref_doc: str) -> tuple[ColumnDefinition, ...]:
    return (
        NAME,
        ColumnDefinition("Role", description=role_ref_doc),
        AGE,
        wide("Users", f"Users in the {kind}"),
        wide("Groups", f"Groups in the {kind}"),
        wide("ServiceAccounts", f"ServiceAccounts in the {kind}"),
    )


ROLE_BINDING_COLUMNS = _binding_columns("roleBinding", doc.ROLE_BINDING_ROLE_REF)
CLUSTER_ROLE_BINDING_COLUMNS = _binding_columns(
    "clusterRoleBinding", doc.CLUSTER_ROLE_BINDING_ROLE_REF
)


def subjects_strings(subjects: list[Any]) -> tuple[list[str], list[str], list[str]]:
    """Users, groups and service accounts ("namespace:name") among ``subjects``."""
    users: list[str] = []
    groups: list[str] = []
    service_accounts: list[str] = []
    for subject in subjects:
        kind = text(subject, "kind")
        if kind == "User":
            users.append(text(subject, "name"))
        elif kind == "Group":
            groups.append(text(subject, "name"))
        elif kind == "ServiceAccount":
            service_accounts.append(f"{text(subject, 'namespace')}:{text(subject, 'name')}")
    return users, groups, service_accounts


def binding_cells(binding: Obj, now: datetime) -> list[Any]:
    role = f"{text(binding, 'roleRef', 'kind')}/{text(binding, 'roleRef', 'name')}"
    users, groups, service_accounts = subjects_strings(items(binding, "subjects"))
    return [
        name(binding),
        role,
        since(dig(binding, "metadata", "creationTimestamp"), now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(service_accounts),
    ]


_GROUP = "rbac.authorization.k8s.io"
PRINTERS = {
    (_GROUP, "rolebindings"): Printer(ROLE_BINDING_COLUMNS, binding_cells),
    (_GROUP, "clusterrolebindings"): Printer(CLUSTER_ROLE_BINDING_COLUMNS, binding_cells),
}
