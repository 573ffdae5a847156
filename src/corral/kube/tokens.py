"""The tokens controller: long-lived tokens in ``kubernetes.io/service-account-token`` Secrets.

Before TokenRequest, every service account got a Secret holding a token
that never expires; people still create them by hand (CI systems,
dashboards, ``kubectl create secret generic --type
kubernetes.io/service-account-token``) and expect Kubernetes' tokens
controller to fill them in. Same here, keyed by Secret:

- a Secret of type ``kubernetes.io/service-account-token`` with the
  annotation ``kubernetes.io/service-account.name`` gets ``data.token``
  (a JWT without expiry, bound to this Secret: it authenticates exactly
  as long as the Secret and the account exist with their uids), ``data.
  ca.crt`` (the cluster CA) and ``data.namespace``, and the annotation
  ``kubernetes.io/service-account.uid``;
- a token that no longer verifies (the signing key was replaced) or names
  another account or Secret is re-issued; a good one is left alone;
- a Secret whose account does not exist, or whose uid annotation names an
  account that was deleted and recreated, is deleted (with a uid
  precondition, so a recreated Secret is not) — so deleting an account
  deletes its token Secrets. A cache miss is confirmed by a live GET
  first: a Secret created right after its account is not deleted.

Secrets are queued by their own events, and by the events of the account
they name (an index of token Secrets by ``<namespace>/<account>``). The
token is signed by ``ctx.options.token_issuer`` (``corral.auth`` via
start-up); without one the controller is not started. Tokens never appear
in logs or events. `build` belongs in `corral.kube.manager.CONTROLLERS`
under Kubernetes' name for it, ``serviceaccount-token``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
from typing import Any

from corral.client import Preconditions
from corral.controller import Controller, Informer
from corral.controller.indexer import Obj
from corral.kube.context import KubeContext, Runnable
from corral.kube.enqueue import enqueue
from corral.kube.resources import SECRETS, SERVICE_ACCOUNTS
from corral.machinery.satoken import BoundRef, TokenIssuer, TokenSpec
from corral.machinery.status import Conflict, NotFound

log = logging.getLogger(__name__)

TOKEN_SECRET_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 (a type name)
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"
TOKEN_KEY = "token"  # noqa: S105 (a data key)
CA_KEY = "ca.crt"
NAMESPACE_KEY = "namespace"
_BY_ACCOUNT = "tokens-by-serviceaccount"


def _meta(obj: Obj) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def account_of(secret: Obj) -> str:
    """The account a token Secret names (``""`` for any other Secret)."""
    if secret.get("type") != TOKEN_SECRET_TYPE:
        return ""
    name = (_meta(secret).get("annotations") or {}).get(NAME_ANNOTATION)
    return name if isinstance(name, str) else ""


def _by_account(secret: Obj) -> list[str]:
    name = account_of(secret)
    namespace = _meta(secret).get("namespace")
    return [f"{namespace}/{name}"] if name and namespace else []


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _unb64(value: object) -> str:
    if not isinstance(value, str):
        return ""
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


class TokensController:
    """Fills, re-issues or deletes one token Secret per pass."""

    def __init__(
        self, ctx: KubeContext, issuer: TokenIssuer, accounts: Informer, secrets: Informer
    ) -> None:
        self.client = ctx.client
        self.issuer = issuer
        self.ca = ctx.options.ca_pem.decode()
        self.accounts = accounts
        self.secrets = secrets

    async def sync(self, key: str, secret: Obj | None) -> None:
        if secret is None or _meta(secret).get("deletionTimestamp"):
            return
        name = account_of(secret)
        if not name:
            return
        meta = _meta(secret)
        namespace = str(meta.get("namespace", ""))
        account = await self._account(namespace, name)
        account_uid = str(_meta(account).get("uid", "")) if account is not None else ""
        wanted_uid = (meta.get("annotations") or {}).get(UID_ANNOTATION)
        if account is None or (wanted_uid and wanted_uid != account_uid):
            await self._delete(secret, namespace)
            return
        await self._fill(secret, namespace, name, account_uid)

    async def _account(self, namespace: str, name: str) -> Obj | None:
        cached = self.accounts.get(f"{namespace}/{name}")
        if cached is not None:
            return cached
        try:  # the informer may not have heard of a new account yet
            return await self.client.get(SERVICE_ACCOUNTS, name, namespace=namespace)
        except NotFound:
            return None

    async def _delete(self, secret: Obj, namespace: str) -> None:
        meta = _meta(secret)
        log.info(
            "deleting a token secret whose service account is gone",
            extra={"namespace": namespace, "secret": meta.get("name")},
        )
        try:
            await self.client.delete(
                SECRETS,
                str(meta.get("name")),
                namespace=namespace,
                preconditions=Preconditions(uid=str(meta.get("uid", ""))),
            )
        except (NotFound, Conflict):
            return  # already gone, or replaced by a new Secret (which gets its own pass)

    async def _fill(self, secret: Obj, namespace: str, account: str, account_uid: str) -> None:
        meta = _meta(secret)
        bound = BoundRef(str(meta.get("name", "")), str(meta.get("uid", "")))
        spec = TokenSpec(namespace, account, account_uid, expiration_seconds=None, secret=bound)
        data: dict[str, Any] = secret["data"] if isinstance(secret.get("data"), dict) else {}
        token = _unb64(data.get(TOKEN_KEY))
        if not token or not self.issuer.still_valid(token, spec):
            token = self.issuer.issue(spec).token
        wanted_data = {TOKEN_KEY: _b64(token), NAMESPACE_KEY: _b64(namespace)}
        if self.ca:
            wanted_data[CA_KEY] = _b64(self.ca)
        annotations = meta.get("annotations") or {}
        if (
            all(data.get(k) == v for k, v in wanted_data.items())
            and annotations.get(UID_ANNOTATION) == account_uid
        ):
            return
        updated = copy.deepcopy(secret)
        updated["data"] = {**data, **wanted_data}
        updated["metadata"].setdefault("annotations", {})[UID_ANNOTATION] = account_uid
        try:
            # Carries the cached resourceVersion: a stale one is a Conflict, retried.
            await self.client.update(SECRETS, updated, namespace=namespace)
        except NotFound:
            return  # deleted meanwhile
        log.info(
            "filled a service account token secret",
            extra={"namespace": namespace, "secret": meta.get("name"), "serviceaccount": account},
        )


def build(ctx: KubeContext) -> list[Runnable]:
    issuer = ctx.options.token_issuer
    if issuer is None:
        log.warning("no service account token issuer: the tokens controller is not started")
        return []
    secrets = ctx.informers.informer(SECRETS)
    accounts = ctx.informers.informer(SERVICE_ACCOUNTS)
    secrets.add_indexer(_BY_ACCOUNT, _by_account)
    controller = Controller("serviceaccount-token", secrets, workers=ctx.options.workers)
    controller.on_change("fill-token", TokensController(ctx, issuer, accounts, secrets).sync)

    def account_changed(account: Obj) -> None:
        meta = _meta(account)
        for secret in secrets.by_index(_BY_ACCOUNT, f"{meta.get('namespace')}/{meta.get('name')}"):
            smeta = _meta(secret)
            enqueue(controller, f"{smeta.get('namespace')}/{smeta.get('name')}")

    accounts.on_add(account_changed)
    accounts.on_update(lambda _old, new: account_changed(new))
    accounts.on_delete(account_changed)
    return [controller]
