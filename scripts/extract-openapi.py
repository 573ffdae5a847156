#!/usr/bin/env python3
"""Regenerate corral's built-in Kubernetes schemas from a named, maintained package.

Corral validates built-in kinds against the real Kubernetes 1.32 definitions. They
come from the ``kubernetes-validate`` package on PyPI (Apache-2.0), which ships
the upstream OpenAPI definitions of each Kubernetes release converted to JSON
Schema (``kubernetes-json-schema/v1.32.0-local/_definitions.json``). This script
downloads the pinned wheel with pip, undoes that conversion so the result reads
as the OpenAPI v3 ``components.schemas`` of kube-apiserver 1.32 again, and writes
``src/corral/machinery/openapi/data/kubernetes-1.32.json.gz``:

* ``type: [T, "null"]`` becomes ``type: T`` (the converter made every field nullable);
* ``$ref: "#/$defs/X"`` becomes ``$ref: "#/components/schemas/X"``;
* the ``enum`` the converter added to ``apiVersion``/``kind`` of top-level kinds is dropped;
* IntOrString gets back its ``format: int-or-string`` and its v3 ``oneOf`` order.

Usage: scripts/extract-openapi.py [--wheel PATH]   (without --wheel, pip downloads it)
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "kubernetes-validate"
PACKAGE_VERSION = "1.37.0"
KUBERNETES_VERSION = "1.32.0"
MEMBER = f"kubernetes_validate/kubernetes-json-schema/v{KUBERNETES_VERSION}-local/_definitions.json"
OUT = Path(__file__).resolve().parent.parent / "src/corral/machinery/openapi/data"
OUT_FILE = OUT / "kubernetes-1.32.json.gz"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def _download() -> Path:
    target = Path(tempfile.mkdtemp(prefix="corral-openapi-"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "-d",
            str(target),
            f"{PACKAGE}=={PACKAGE_VERSION}",
        ],
        check=True,
    )
    return next(target.glob("*.whl"))


def _normalize(node: Any) -> Any:
    if isinstance(node, list):
        return [_normalize(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        elif key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _normalize(prop) for name, prop in value.items()}
        else:
            out[key] = _normalize(value)
    return out


def _drop_injected_enums(schema: dict[str, Any]) -> None:
    if "x-kubernetes-group-version-kind" not in schema:
        return
    for name in ("apiVersion", "kind"):
        prop = schema.get("properties", {}).get(name)
        if isinstance(prop, dict):
            prop.pop("enum", None)


def extract(wheel: Path) -> dict[str, Any]:
    with zipfile.ZipFile(wheel) as archive:
        raw = json.loads(archive.read(MEMBER))
    schemas: dict[str, Any] = {}
    for name, definition in sorted(raw["$defs"].items()):
        schema = _normalize(definition)
        _drop_injected_enums(schema)
        schemas[name] = schema
    schemas[INT_OR_STRING] = {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    }
    schemas[QUANTITY] = {
        "description": "Quantity is a fixed-point representation of a number, "
        'written as a string (e.g. "500m", "512Mi") or a number.',
        "oneOf": [{"type": "string"}, {"type": "number"}],
    }
    return {
        "kubernetes": KUBERNETES_VERSION,
        "source": f"{PACKAGE}=={PACKAGE_VERSION} ({MEMBER})",
        "license": "Apache-2.0",
        "schemas": schemas,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded kubernetes-validate wheel")
    args = parser.parse_args()
    wheel = args.wheel or _download()
    data = extract(wheel)
    OUT.mkdir(parents=True, exist_ok=True)
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    OUT_FILE.write_bytes(gzip.compress(encoded, compresslevel=9, mtime=0))
    print(
        f"{OUT_FILE}: {len(data['schemas'])} schemas, {len(encoded)} bytes, "
        f"{OUT_FILE.stat().st_size} compressed"
    )


if __name__ == "__main__":
    main()
