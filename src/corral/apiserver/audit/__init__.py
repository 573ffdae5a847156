"""The audit log: one ``audit.k8s.io/v1`` Event per API request, as JSON lines.

`Audit` is the pipeline filter, `AuditLog` the bounded, rotated writer,
`Level` how much is recorded; `corral.apiserver.audit.policy` decides what
is never recorded (credential-bearing bodies, sensitive query values).
docs/audit.md tells the whole story.
"""

from corral.apiserver.audit.filter import Audit
from corral.apiserver.audit.policy import Level, may_record_body, request_uri
from corral.apiserver.audit.sink import STDOUT, AuditLog

__all__ = ["STDOUT", "Audit", "AuditLog", "Level", "may_record_body", "request_uri"]
