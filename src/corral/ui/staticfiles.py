"""The built console's files, read once and kept in memory with their compressed forms.

The build (``npm run build`` in ``web/``) writes a small directory: ``index.html``,
a few top-level files (the favicon) and ``assets/`` with content-hashed names.
This module decides how those bytes are found and encoded; `corral.ui.console`
decides which URL gets which file and with which headers.

- **Names.** Only plain file names are looked up (`SAFE_NAME`: letters, digits,
  ``._-``, not starting with a dot), in the top directory or in ``assets/``; a
  path with a slash, ``..`` or a hidden name never reaches the file system.
- **Caching.** A file is read on first use and kept with its ``mtime``/size;
  ``index.html`` and the top-level files are checked with one ``stat`` per
  request (a rebuild while the server runs is picked up), assets are not (their
  names change with their content).
- **Encoding.** Text files (JS, CSS, HTML, SVG, JSON, source maps) are sent
  gzip-compressed to a client that accepts gzip: the compressed form is made
  once (level 9) and cached, or taken from a ``<name>.gz`` written by the
  build. A ``<name>.br`` from the build is preferred when the client accepts
  ``br`` (Python has no Brotli encoder in its standard library, so Brotli is
  only ever precompressed). A compressed form that is not smaller is not used.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: A file name that may be looked up: no separators, no leading dot.
SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$")

ASSETS_DIR: Final = "assets"
INDEX: Final = "index.html"

CONTENT_TYPES: Final = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".mjs": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".json": b"application/json",
    ".map": b"application/json",
    ".txt": b"text/plain; charset=utf-8",
    ".png": b"image/png",
    ".jpg": b"image/jpeg",
    ".ico": b"image/x-icon",
    ".webp": b"image/webp",
    ".woff2": b"font/woff2",
    ".woff": b"font/woff",
    ".wasm": b"application/wasm",
}
#: Suffixes worth compressing (images and fonts already are).
COMPRESSIBLE: Final = frozenset({".html", ".js", ".mjs", ".css", ".svg", ".json", ".map", ".txt"})
#: Files smaller than this are sent as they are: compressing gains nothing.
MIN_COMPRESS: Final = 512


@dataclass(frozen=True, slots=True)
class StaticFile:
    """One file's bytes and its encodings (``encoding`` → bytes)."""

    body: bytes
    content_type: bytes
    etag: bytes
    encoded: dict[str, bytes]
    stamp: tuple[int, int]

    def pick(self, accepted: frozenset[str]) -> tuple[str | None, bytes]:
        """The best encoding the client accepts (``br``, then ``gzip``) and its bytes."""
        for encoding in ("br", "gzip"):
            if encoding in accepted and encoding in self.encoded:
                return encoding, self.encoded[encoding]
        return None, self.body


def accepted_encodings(header: str) -> frozenset[str]:
    """The codings of an ``Accept-Encoding`` header with a non-zero quality."""
    codings: set[str] = set()
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        quality = params.strip().lower().replace(" ", "")
        if quality.startswith("q=") and _is_zero(quality[2:]):
            continue
        if name:
            codings.add(name.strip().lower())
    return frozenset(codings)


def _is_zero(text: str) -> bool:
    try:
        return float(text) == 0
    except ValueError:
        return False


class StaticFiles:
    """The files of one build directory (which may not exist: the UI is not built)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[str, StaticFile] = {}

    @property
    def built(self) -> bool:
        """True once the build wrote ``index.html``."""
        return (self.root / INDEX).is_file()

    def index(self) -> StaticFile | None:
        """``index.html``, or None when the UI is not built."""
        return self._load(INDEX, check=True)

    def top_level(self, name: str) -> StaticFile | None:
        """A file at the top of the build (``favicon.svg``), or None."""
        if not SAFE_NAME.match(name):
            return None
        return self._load(name, check=True)

    def asset(self, name: str) -> StaticFile | None:
        """A file of ``assets/`` (content-hashed, so never re-checked), or None."""
        if not SAFE_NAME.match(name):
            return None
        return self._load(f"{ASSETS_DIR}/{name}", check=False)

    def _load(self, relative: str, *, check: bool) -> StaticFile | None:
        cached = self._cache.get(relative)
        if cached is not None and not check:
            return cached
        path = self.root / relative
        try:
            info = os.stat(path)
        except OSError:
            self._cache.pop(relative, None)
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        if cached is not None and cached.stamp == stamp:
            return cached
        try:
            body = path.read_bytes()
        except OSError:
            return None
        loaded = _static_file(path, body, stamp)
        self._cache[relative] = loaded
        return loaded


def _static_file(path: Path, body: bytes, stamp: tuple[int, int]) -> StaticFile:
    suffix = path.suffix.lower()
    content_type = CONTENT_TYPES.get(suffix, b"application/octet-stream")
    etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
    encoded: dict[str, bytes] = {}
    if suffix in COMPRESSIBLE and len(body) >= MIN_COMPRESS:
        for encoding, extension in (("br", ".br"), ("gzip", ".gz")):
            pre = path.with_name(path.name + extension)
            if pre.is_file():
                data = pre.read_bytes()
                if len(data) < len(body):
                    encoded[encoding] = data
        if "gzip" not in encoded:
            data = gzip.compress(body, compresslevel=9, mtime=0)
            if len(data) < len(body):
                encoded["gzip"] = data
    return StaticFile(body, content_type, etag, encoded, stamp)
