"""Keeping the live serving certificate fresh without a restart.

The renewer wakes every ``CertPolicy.check_interval`` seconds and runs the
same `ensure_tls` as start-up (in a worker thread: it reads files and may
sign). Whenever the serving certificate on disk differs from the one loaded
in the live `ssl.SSLContext` — because it was just renewed or reissued, or
because an operator replaced the files — it is loaded into the context on
the event loop thread, so the next TLS handshake presents it. A failed check
is logged and retried at the next interval; the server keeps serving with
the certificate it has. The renewer never creates a CA: if the CA files
vanish while the server runs, that is reported, not papered over.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

from cryptography.hazmat.primitives import hashes

from corral.pki import context
from corral.pki.errors import PKIError
from corral.pki.sans import SubjectAltNames
from corral.pki.store import CertPolicy, TLSPaths, TLSState, ensure_tls

log = logging.getLogger("corral.pki")


class ServingCertRenewer:
    """Renews the serving certificate on disk and reloads it into a context."""

    def __init__(
        self,
        paths: TLSPaths,
        sans: SubjectAltNames,
        policy: CertPolicy,
        ssl_context: ssl.SSLContext,
        loaded: TLSState,
    ) -> None:
        self._paths = paths
        self._sans = sans
        self._policy = policy
        self._ctx = ssl_context
        self._fingerprint = loaded.serving_cert.fingerprint(hashes.SHA256())

    async def check(self) -> bool:
        """One check; True if a new serving certificate was loaded."""
        state = await asyncio.to_thread(
            ensure_tls, self._paths, self._sans, self._policy, may_create_ca=False
        )
        fingerprint = state.serving_cert.fingerprint(hashes.SHA256())
        if fingerprint == self._fingerprint:
            return False
        context.load_into(self._ctx, self._paths)
        self._fingerprint = fingerprint
        log.info(
            "serving certificate reloaded",
            extra={"not_after": state.serving_cert.not_valid_after_utc.isoformat()},
        )
        return True

    async def run(self) -> None:
        """Check forever, every ``check_interval`` seconds, until cancelled."""
        while True:
            await asyncio.sleep(self._policy.check_interval)
            try:
                await self.check()
            except PKIError as exc:
                log.error("serving certificate check failed", extra={"error": str(exc)})
            except Exception:  # a bug; keep checking rather than die silently
                log.exception("serving certificate check failed unexpectedly")
