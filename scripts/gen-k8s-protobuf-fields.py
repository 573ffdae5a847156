#!/usr/bin/env python3
"""Regenerate the Kubernetes 1.32 protobuf field tables Corral decodes request bodies with.

kubectl 1.32 sends the bodies of its typed requests (``kubectl create namespace``,
``create deployment``, …) as Kubernetes protobuf. To read them, Corral needs the
field tables of Kubernetes' ``generated.proto`` files. A kubectl binary carries
them: every Go protobuf package registers its ``FileDescriptorProto`` gzip-compressed,
and those bytes sit in the binary's read-only data. This script

1. finds every gzip member in the binary, keeps those that decompress to a
   ``FileDescriptorProto`` named ``k8s.io/...`` and parses them with Corral's own
   wire reader (:mod:`corral.machinery.protobuf.wire`) and the few descriptor
   field numbers written below (no protobuf library needed);
2. reads the Go struct tags of the same types from the binary's type data
   (``json:"x,omitempty" protobuf:"varint,3,opt,name=x"`` and whether the Go
   field is a pointer), which tell what Go's JSON encoding would do with a
   decoded value: the JSON name, ``,inline`` embedding, and whether a zero is
   omitted (a non-pointer ``omitempty`` field) or meaningful (a pointer);
3. marks the messages that only wrap a list (``ExtraValue``: their JSON is the
   list; told apart from structs of the same shape by Corral's OpenAPI data);
4. writes message → fields for the packages Corral serves (and every message
   they refer to) as gzip-compressed JSON to
   ``src/corral/machinery/protobuf/data/k8s-1.32-protobuf-fields.json.gz``.

Each field is ``[number, json name, type, label, flags]``: ``type`` is a scalar
type name (``string``, ``int32``, ``bytes``, …), a message's full name, or for
maps ``[key type, value type]``; ``label`` is ``""``, ``"repeated"`` or ``"map"``;
``flags`` holds ``i`` (inlined into the parent's JSON), ``o`` (a Go non-pointer
``omitempty`` scalar: a zero is left out of JSON) and ``p`` (a Go pointer: a zero
or empty string is kept).

Usage: .venv/bin/python scripts/gen-k8s-protobuf-fields.py [--kubectl PATH]
The server never reads the kubectl binary; it reads only the generated file.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import re
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from corral.machinery.protobuf.wire import LEN, VARINT, iter_fields  # noqa: E402

KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
KUBERNETES_VERSION = "1.32"
OPENAPI = ROOT / "src/corral/machinery/openapi/data/kubernetes-1.32.json.gz"
OUT_FILE = ROOT / "src/corral/machinery/protobuf/data/k8s-1.32-protobuf-fields.json.gz"

# The API group/version each served proto package holds ("" is the core group).
PACKAGES = {
    "k8s.io.api.core.v1": "v1",
    "k8s.io.api.apps.v1": "apps/v1",
    "k8s.io.api.batch.v1": "batch/v1",
    "k8s.io.api.rbac.v1": "rbac.authorization.k8s.io/v1",
    "k8s.io.api.coordination.v1": "coordination.k8s.io/v1",
    "k8s.io.api.events.v1": "events.k8s.io/v1",
    "k8s.io.api.networking.v1": "networking.k8s.io/v1",
    "k8s.io.api.discovery.v1": "discovery.k8s.io/v1",
    "k8s.io.api.policy.v1": "policy/v1",
    "k8s.io.api.authentication.v1": "authentication.k8s.io/v1",
    "k8s.io.api.authorization.v1": "authorization.k8s.io/v1",
    "k8s.io.api.autoscaling.v1": "autoscaling/v1",
    "k8s.io.api.autoscaling.v2": "autoscaling/v2",
    "k8s.io.api.scheduling.v1": "scheduling.k8s.io/v1",
    "k8s.io.api.storage.v1": "storage.k8s.io/v1",
    "k8s.io.apimachinery.pkg.apis.meta.v1": "meta.k8s.io/v1",
}
SUPPORT_PACKAGES = (
    "k8s.io.apimachinery.pkg.runtime",
    "k8s.io.apimachinery.pkg.runtime.schema",
    "k8s.io.apimachinery.pkg.api.resource",
    "k8s.io.apimachinery.pkg.util.intstr",
)

# descriptor.proto, only the fields needed here.
FILE_NAME, FILE_PACKAGE, FILE_MESSAGE = 1, 2, 4
MSG_NAME, MSG_FIELD, MSG_NESTED, MSG_OPTIONS = 1, 2, 3, 7
MSGOPT_MAP_ENTRY = 7
FIELD_NAME, FIELD_NUMBER, FIELD_LABEL, FIELD_TYPE, FIELD_TYPE_NAME = 1, 3, 4, 5, 6
LABEL_REPEATED = 3
TYPE_MESSAGE, TYPE_ENUM, TYPE_GROUP = 11, 14, 10
SCALARS = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
}

# Go reflection (amd64, Go 1.2x): abi.Type.Kind_ is byte 23; kinds used below.
GO_KIND_OFFSET = 23
GO_PTR, GO_SLICE, GO_MAP, GO_STRING, GO_STRUCT = 22, 23, 21, 24, 25
GO_SCALARS = {*range(1, 17), GO_STRING}


@dataclass
class Field:
    number: int
    name: str
    type: str | list[str]
    label: str
    flags: str = ""


@dataclass
class Message:
    name: str
    fields: list[Field] = field(default_factory=list)
    map_entry: bool = False
    wrapper: bool = False


def _one(record: list[tuple[int, int, int | bytes]], number: int) -> int | bytes | None:
    value = None
    for num, _, val in record:
        if num == number:
            value = val
    return value


def _text(value: int | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else ""


def parse_message(buf: bytes, prefix: str, out: dict[str, Message]) -> None:
    record = list(iter_fields(buf))
    full = f"{prefix}.{_text(_one(record, MSG_NAME))}"
    msg = Message(full)
    for num, wire, val in record:
        if num == MSG_FIELD and wire == LEN and isinstance(val, bytes):
            f = list(iter_fields(val))
            ftype = _one(f, FIELD_TYPE)
            assert isinstance(ftype, int)
            if ftype == TYPE_MESSAGE:
                type_name: str | list[str] = _text(_one(f, FIELD_TYPE_NAME)).lstrip(".")
            elif ftype == TYPE_ENUM:
                type_name = "enum"
            elif ftype == TYPE_GROUP:
                raise SystemExit(f"{full}: group fields are not supported")
            else:
                type_name = SCALARS[ftype]
            label = "repeated" if _one(f, FIELD_LABEL) == LABEL_REPEATED else ""
            number = _one(f, FIELD_NUMBER)
            assert isinstance(number, int)
            msg.fields.append(Field(number, _text(_one(f, FIELD_NAME)), type_name, label))
        elif num == MSG_NESTED and isinstance(val, bytes):
            parse_message(val, full, out)
        elif num == MSG_OPTIONS and isinstance(val, bytes):
            opts = list(iter_fields(val))
            msg.map_entry = any(n == MSGOPT_MAP_ENTRY and w == VARINT and v for n, w, v in opts)
    out[full] = msg


def descriptors(binary: bytes) -> tuple[dict[str, Message], dict[str, str]]:
    """Every k8s.io message in ``binary`` and the file each package came from."""
    messages: dict[str, Message] = {}
    files: dict[str, str] = {}
    pos = 0
    while (pos := binary.find(b"\x1f\x8b\x08\x00", pos)) >= 0:
        start, pos = pos, pos + 1
        try:
            raw = zlib.decompressobj(31).decompress(binary[start : start + (8 << 20)])
            record = list(iter_fields(raw))
        except (zlib.error, ValueError):
            continue
        name, package = _text(_one(record, FILE_NAME)), _text(_one(record, FILE_PACKAGE))
        if not name.startswith("k8s.io/") or package in files:
            continue
        files[package] = name
        for num, _, val in record:
            if num == FILE_MESSAGE and isinstance(val, bytes):
                parse_message(val, package, messages)
    return messages, files


@dataclass
class GoField:
    json_name: str
    inline: bool
    omitempty: bool
    kinds: set[int]


def _rodata(binary: bytes) -> tuple[int, int, int]:
    """(virtual address, file offset, size) of the ELF ``.rodata`` section."""
    shoff = struct.unpack_from("<Q", binary, 0x28)[0]
    entsize, count, strndx = struct.unpack_from("<HHH", binary, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", binary, shoff + i * entsize) for i in range(count)]
    names_at = headers[strndx][4]
    for name, _, _, addr, offset, size in headers:
        end = binary.index(b"\0", names_at + name)
        if binary[names_at + name : end] == b".rodata":
            return addr, offset, size
    raise SystemExit("no .rodata section: not a Go ELF binary?")


_PROTO_TAG = re.compile(rb'protobuf:"([a-z0-9]+),(\d+)(?:,[^"]*?name=([A-Za-z0-9_]+))?')
_JSON_TAG = re.compile(rb'json:"([^"]*)"')
_GO_NAME = re.compile(rb"[A-Z][A-Za-z0-9_]*")


def go_structs(binary: bytes) -> list[dict[tuple[str, int], GoField]]:
    """The Go structs whose fields carry protobuf tags: (proto name, number) → field.

    A Go type name record is ``flags, len, name, taglen, tag``; a struct's field
    array holds ``(name record address, field type address, offset)`` triples,
    the first at offset 0, and the field type's kind byte says pointer or not.
    """
    va, offset, size = _rodata(binary)
    ro = binary[offset : offset + size]
    records: dict[int, bytes] = {}
    for match in re.finditer(rb'protobuf:"', ro):
        start = ro.rfind(b'json:"', max(0, match.start() - 400), match.start())
        if start < 2:
            continue
        tag, width = b"", 0
        for width in (1, 2):
            length = ro[start - 1] if width == 1 else (ro[start - 2] & 0x7F) | ro[start - 1] << 7
            if (width == 1 and length >= 0x80) or (width == 2 and not ro[start - 2] & 0x80):
                continue
            if ro[start + length - 1 : start + length] == b'"' and match.start() < start + length:
                tag = ro[start : start + length]
                break
        if not tag:
            continue
        end = start - width
        for name_len in range(1, 80):
            at = end - name_len - 1
            if ro[at] == name_len and ro[at - 1] & 3 == 3 and _GO_NAME.fullmatch(ro[at + 1 : end]):
                records[va + at - 1] = tag
                break
    words = memoryview(ro)[: len(ro) // 8 * 8].cast("Q")

    def is_field(i: int) -> bool:
        return (
            0 <= i < len(words) - 2
            and va <= words[i] < va + size
            and va <= words[i + 1] < va + size
            and words[i + 2] < 1 << 20
        )

    starts: set[int] = set()
    for i in range(len(words) - 2):
        if words[i] in records and is_field(i):
            j = i
            while words[j + 2] != 0 and is_field(j - 3) and words[j - 1] < words[j + 2]:
                j -= 3
            if words[j + 2] == 0:
                starts.add(j)
    structs = []
    for start in sorted(starts):
        fields: dict[tuple[str, int], GoField] = {}
        i, last = start, -1
        while is_field(i) and int(words[i + 2]) > last:
            last = int(words[i + 2])
            tag = records.get(words[i], b"")
            proto, js = _PROTO_TAG.search(tag), _JSON_TAG.search(tag)
            if proto and js:
                json_name, _, options = js.group(1).decode().partition(",")
                kind = ro[words[i + 1] - va + GO_KIND_OFFSET] & 0x1F
                name = (proto.group(3) or b"").decode()
                fields[(name, int(proto.group(2)))] = GoField(
                    json_name, "inline" in options, "omitempty" in options, {kind}
                )
            i += 3
        if fields:
            structs.append(fields)
    return structs


def apply_go(messages: dict[str, Message], structs: list[dict[tuple[str, int], GoField]]) -> int:
    """Set JSON names and flags from the Go struct of each message.

    A message's Go struct is the one with exactly its tagged fields; where several
    match (the same shape in two packages), a field is a pointer if any says so.
    Messages with no struct keep their proto names and no flags. Returns the
    number of messages with no Go struct.
    """
    by_numbers: dict[frozenset[int], list[dict[tuple[str, int], GoField]]] = (
        collections.defaultdict(list)
    )
    for struct_fields in structs:
        by_numbers[frozenset(number for _, number in struct_fields)].append(struct_fields)
    missing = 0
    for msg in messages.values():
        keys = {(f.name, f.number) for f in msg.fields}
        found = [
            s
            for s in by_numbers.get(frozenset(f.number for f in msg.fields), [])
            if all(key in keys for key in s if key[0])
        ]
        if msg.wrapper or not found:
            missing += not found
            continue
        for f in msg.fields:
            tagged = [s.get((f.name, f.number)) or s[("", f.number)] for s in found]
            names = {g.json_name for g in tagged}
            kinds = set().union(*(g.kinds for g in tagged))
            flags = "i" if all(g.inline for g in tagged) else ""
            if GO_PTR in kinds:
                flags += "p"
            elif kinds <= GO_SCALARS and all(g.omitempty for g in tagged):
                flags += "o"
            if len(names) == 1 and (name := names.pop()):
                f.name = name
            f.flags = flags
    return missing


def resolve(messages: dict[str, Message]) -> dict[str, Message]:
    """The served packages' messages and every message they refer to, maps resolved."""
    wanted = [name for name in messages if name.rsplit(".", 1)[0] in PACKAGES]
    wanted += [n for n in messages if n.rsplit(".", 1)[0] in SUPPORT_PACKAGES]
    out: dict[str, Message] = {}
    while wanted:
        name = wanted.pop()
        if name in out:
            continue
        if name not in messages:
            raise SystemExit(f"message {name} is referred to but not in the binary")
        msg = messages[name]
        out[name] = msg
        for f in msg.fields:
            if isinstance(f.type, str) and f.type in messages:
                entry = messages[f.type]
                if entry.map_entry:
                    key, value = (e.type for e in sorted(entry.fields, key=lambda e: e.number))
                    assert isinstance(key, str)
                    assert isinstance(value, str)
                    f.type, f.label = [key, value], "map"
                    if value in messages:
                        wanted.append(value)
                else:
                    wanted.append(f.type)
    return out


def mark_wrappers(messages: dict[str, Message]) -> None:
    """Mark the messages that stand for a Go slice type (``ExtraValue``, ``Verbs``).

    Kubernetes wraps a list in a message where proto cannot hold it directly (a
    map value); the message has one repeated ``items`` field, and its JSON is the
    plain list. A struct of the same shape (``DownwardAPIProjection``) has its own
    OpenAPI definition; a slice type has none.
    """
    raw = OPENAPI.read_bytes()
    schemas = json.loads(gzip.decompress(raw))["schemas"]
    for name, msg in messages.items():
        only = msg.fields[0] if len(msg.fields) == 1 else None
        if only and only.name == "items" and only.label == "repeated":
            msg.wrapper = "io." + name.replace("k8s.io.", "k8s.", 1) not in schemas


# Types whose JSON is not their fields (corral.machinery.protobuf.wellknown).
WELL_KNOWN = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
    "k8s.io.apimachinery.pkg.api.resource.Quantity",
    "k8s.io.apimachinery.pkg.runtime.RawExtension",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
}


def check(messages: dict[str, Message]) -> None:
    """Fail unless the tables agree with Corral's OpenAPI data and known Go facts."""
    schemas = json.loads(gzip.decompress(OPENAPI.read_bytes()))["schemas"]
    wrong = []
    for name, msg in messages.items():
        props = schemas.get("io." + name.replace("k8s.io.", "k8s.", 1), {}).get("properties")
        if props is None or name in WELL_KNOWN:
            continue
        wrong += [
            f"{name}.{f.name}" for f in msg.fields if "i" not in f.flags and f.name not in props
        ]
    if wrong:
        raise SystemExit(f"JSON names not in the OpenAPI definitions: {', '.join(wrong)}")
    spec = {f.name: f.flags for f in messages["k8s.io.api.apps.v1.DeploymentSpec"].fields}
    volume = {f.name: f.flags for f in messages["k8s.io.api.core.v1.Volume"].fields}
    if (
        spec["replicas"] != "p"
        or spec["minReadySeconds"] != "o"
        or "i" not in volume["volumeSource"]
    ):
        raise SystemExit("Go struct tags not understood (is this a Go 1.2x amd64 binary?)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubectl", default=KUBECTL, help="a kubectl 1.32 binary")
    parser.add_argument("--out", default=str(OUT_FILE))
    args = parser.parse_args()
    binary = Path(args.kubectl).read_bytes()
    all_messages, files = descriptors(binary)
    missing_packages = [p for p in (*PACKAGES, *SUPPORT_PACKAGES) if p not in files]
    if missing_packages:
        raise SystemExit(f"not in {args.kubectl}: {', '.join(missing_packages)}")
    messages = resolve(all_messages)
    mark_wrappers(messages)
    untagged = apply_go(messages, go_structs(binary))
    check(messages)
    data: dict[str, Any] = {
        "comment": (
            "Generated by scripts/gen-k8s-protobuf-fields.py from the FileDescriptorProtos "
            "and Go struct tags embedded in a kubectl binary; do not edit. Regenerate with: "
            ".venv/bin/python scripts/gen-k8s-protobuf-fields.py --kubectl <kubectl 1.32>"
        ),
        "kubernetes": KUBERNETES_VERSION,
        "source": f"{Path(args.kubectl).name} sha256:{hashlib.sha256(binary).hexdigest()}",
        "files": sorted(files[p] for p in (*PACKAGES, *SUPPORT_PACKAGES)),
        "groups": {version: package for package, version in PACKAGES.items()},
        "wrappers": sorted(n for n, m in messages.items() if m.wrapper),
        "messages": {
            name: [[f.number, f.name, f.type, f.label, f.flags] for f in msg.fields]
            for name, msg in sorted(messages.items())
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"), sort_keys=False).encode()
    out.write_bytes(gzip.compress(text, mtime=0))
    print(
        f"{out}: {len(messages)} messages from {len(files)} files, "
        f"{untagged} messages without a Go struct, {out.stat().st_size} bytes",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
