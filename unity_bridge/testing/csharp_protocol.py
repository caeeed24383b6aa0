"""Read the protocol constants and message classes out of the C# package, and compare them
with unity_bridge/protocol.py (for the tests: nothing in Unity checks that the two agree).

`read_csharp(text)` parses CaptureProtocol.cs: the channel GUID, the version, the package
version, and the serialized fields (name and C# type) of each [Serializable] class.
`protocol_differences(...)` lists every disagreement, one line each; empty means they agree.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from unity_bridge import protocol as python_protocol

PACKAGE = Path(__file__).resolve().parents[1] / "unity"
PROTOCOL_CS = PACKAGE / "Runtime" / "CaptureProtocol.cs"
AGENT_CS = PACKAGE / "Runtime" / "CaptureAgent.cs"

# C# field type -> the JSON value JsonUtility writes for it, as a Python type
_CS_TYPES: dict[str, type] = {"int": int, "float": float, "string": str, "bool": bool}
_FIELD = re.compile(r"^\s*public\s+(?!const|static|readonly|override|abstract|virtual)"   # not a constant or a method
                    r"([\w<>.,\s]+?)\s+(\w+)\s*(=[^;]*)?;", re.M)


@dataclass
class CSharpProtocol:
    name: str = ""
    version: int = -1
    package_version: str = ""
    channel_id: uuid.UUID | None = None
    classes: dict[str, dict[str, str]] = field(default_factory=dict)   # class -> field -> C# type


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _class_bodies(text: str) -> dict[str, str]:
    """Body (outermost braces) of each class declared in text."""
    bodies = {}
    for m in re.finditer(r"\bclass\s+(\w+)[^{]*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        bodies[m.group(1)] = text[m.end():i - 1]
    return bodies


def read_csharp(text: str) -> CSharpProtocol:
    """The protocol as CaptureProtocol.cs declares it."""
    code = _strip_comments(text)
    out = CSharpProtocol()
    if m := re.search(r'const\s+string\s+Name\s*=\s*"([^"]*)"', code):
        out.name = m.group(1)
    if m := re.search(r"const\s+int\s+Version\s*=\s*(\d+)", code):
        out.version = int(m.group(1))
    if m := re.search(r'const\s+string\s+PackageVersion\s*=\s*"([^"]*)"', code):
        out.package_version = m.group(1)
    if m := re.search(r'ChannelId\s*=\s*new\s+Guid\("([0-9a-fA-F-]+)"\)', code):
        out.channel_id = uuid.UUID(m.group(1))
    for cls, body in _class_bodies(code).items():
        # Only this class's own fields: nested bodies (methods) are removed first.
        flat = re.sub(r"\{[^{}]*\}", "", re.sub(r"\{[^{}]*\}", "", body))
        fields = {}
        for fm in _FIELD.finditer(flat):
            if "NonSerialized" in flat[max(0, fm.start() - 40):fm.start() + 20]:
                continue  # never sent
            fields[fm.group(2)] = " ".join(fm.group(1).split())
        out.classes[cls] = fields
    return out


def _json_type(cs_type: str) -> type:
    if cs_type.startswith("List<"):
        return list
    return _CS_TYPES.get(cs_type, dict)   # any other class (CameraInfo) is a JSON object


def protocol_differences(cs: CSharpProtocol, py: ModuleType = python_protocol,
                         agent_ops: set[str] | None = None) -> list[str]:
    """Every way the C# declarations and the Python module disagree."""
    diffs = []
    if cs.name != py.PROTOCOL_NAME:
        diffs.append(f"protocol name: C# {cs.name!r}, Python {py.PROTOCOL_NAME!r}")
    if cs.version != py.PROTOCOL_VERSION:
        diffs.append(f"protocol version: C# {cs.version}, Python {py.PROTOCOL_VERSION}")
    if cs.package_version != py.PACKAGE_VERSION:
        diffs.append(f"package version: C# {cs.package_version!r}, Python {py.PACKAGE_VERSION!r}")
    if cs.channel_id != py.CHANNEL_ID:
        diffs.append(f"channel id: C# {cs.channel_id}, Python {py.CHANNEL_ID}")

    request = cs.classes.get("CaptureRequest", {})
    wanted = {"v", "id", "op"} | {f for fields in py.REQUEST_FIELDS.values() for f in fields}
    for name in sorted(wanted - set(request)):
        diffs.append(f"request field {name!r}: in Python, not in C# CaptureRequest")
    for name in sorted(set(request) - wanted):
        diffs.append(f"request field {name!r}: in C# CaptureRequest, not in Python REQUEST_FIELDS")

    reply = cs.classes.get("CaptureReply", {})
    for name in sorted(set(py.REPLY_DEFAULTS) - set(reply)):
        diffs.append(f"reply field {name!r}: in Python REPLY_DEFAULTS, not in C# CaptureReply")
    for name in sorted(set(reply) - set(py.REPLY_DEFAULTS)):
        diffs.append(f"reply field {name!r}: in C# CaptureReply, not in Python REPLY_DEFAULTS")
    for name in sorted(set(reply) & set(py.REPLY_DEFAULTS)):
        cs_kind, py_default = _json_type(reply[name]), py.REPLY_DEFAULTS[name]
        if type(py_default) is not cs_kind:
            diffs.append(f"reply field {name!r}: C# {reply[name]}, Python default {py_default!r}")
    for op, fields in py.REPLY_FIELDS.items():
        for name, kind in fields.items():
            kinds = kind if isinstance(kind, tuple) else (kind,)
            if name in reply and _json_type(reply[name]) not in kinds:
                diffs.append(f"{op} reply field {name!r}: C# {reply[name]}, Python expects {kind}")
            elif name not in reply:
                diffs.append(f"{op} reply field {name!r}: required by Python, not in C# CaptureReply")

    for record, names in py.RECORD_FIELDS.items():
        got = tuple(cs.classes.get(record, {}))
        if set(got) != set(names):
            diffs.append(f"{record} fields: C# {got}, Python {names}")

    if agent_ops is not None and agent_ops != set(py.REQUEST_FIELDS):
        diffs.append(f"ops: CaptureAgent answers {sorted(agent_ops)}, Python sends {sorted(py.REQUEST_FIELDS)}")
    return diffs


def agent_ops(text: str) -> set[str]:
    """The ops CaptureAgent.cs answers (the case labels of its request switch)."""
    return set(re.findall(r'case\s+"(\w+)"\s*:', _strip_comments(text)))
