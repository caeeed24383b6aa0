"""The capture protocol, version 3: JSON messages on one ML-Agents side channel.

Every message is one UTF-8 JSON object in one side-channel message (raw bytes, not the ASCII
strings of ML-Agents' own helpers, so paths may hold any character). Python sends requests,
the player answers each one, possibly a few steps later (a style change waits for the sky to
settle). docs/unity.md is the human-readable version of this module, and the C# side is
unity_bridge/unity/Runtime/CaptureProtocol.cs (tests/test_unity_package.py checks that the two
agree: GUID, version, every field name and type).

Request:  {"v": 3, "id": 7, "op": "set_style", "weather": "Cloudy", "time": "06:35", "settle_frames": 48, ...}
Reply:    {"v": 3, "id": 7, "op": "set_style", "ok": true, "error": "", "weather": "Cloudy", ...}
Error:    {"v": 3, "id": 7, "op": "set_style", "ok": false, "error": "no weather type named 'Cloudy'"}

Version 3 (package 0.3.0): `hello` answers at once with the sky's state (`sky`: ready, pending
or none) instead of waiting for it, and with the render pipeline and the mask self-check it
passed; `load_scene` also reports the sky and its weather types and checks the mask again;
`capture` reports how many pixels the mask's two id passes disagree on.

The player serializes every field of its reply class, whatever the op (Unity's JsonUtility
writes them all); `REPLY_DEFAULTS` is that full reply with its empty values.

Images never travel in messages (gRPC caps a message at 4 MiB): the player writes PNG files
into the folder Python names and answers with their paths.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from unity_bridge.errors import PlayerReportedError, ProtocolError

PROTOCOL_NAME = "rdh-capture"
PROTOCOL_VERSION = 3
PACKAGE_VERSION = "0.3.0"   # of the Unity package that speaks this version (its package.json)
# uuid5(NAMESPACE_URL, "https://rdh/unity-capture-protocol"); the C# side has the same constant.
CHANNEL_ID = uuid.UUID("819f11f0-96a2-5604-827e-e7e865655583")

# op -> fields a request may carry (besides v, id, op).
REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "hello": ("protocol",),
    "ping": (),
    "list_scenes": (),
    "load_scene": ("scene",),
    "set_viewpoint": ("viewpoint",),
    "set_foreground": ("foreground",),
    "set_style": ("weather", "time", "settle_frames", "settle_seconds", "seed"),
    "capture": ("folder", "image", "mask", "width", "height"),
}

NUMBER = (int, float)   # a C# float field: JSON may write 1.0 as 1
SKY_STATES = ("ready", "pending", "none")   # hello/load_scene `sky`: shown, not there yet, no controller

# op -> fields an ok reply must carry, with their JSON types.
REPLY_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "hello": {"protocol": str, "version": int, "unity_version": str, "package_version": str, "product": str,
              "controller": str, "sky": str, "weather_types": list, "render_pipeline": str, "mask_check": str},
    "ping": {},
    "list_scenes": {"scenes": list},
    "load_scene": {"scene": str, "viewpoints": list, "foregrounds": list, "controller": str, "sky": str,
                   "weather_types": list, "paused": bool, "mask_check": str},
    "set_viewpoint": {"viewpoint": str, "camera": dict},
    "set_foreground": {"foreground": str, "category": str},
    "set_style": {"weather": str, "weather_type": str, "time": str, "values": list, "frames": int,
                  "seconds": NUMBER},
    "capture": {"image": str, "mask": str, "width": int, "height": int, "category": str, "mask_pass_diff": int,
                "ms": NUMBER},
}

_VECTOR = {"x": 0.0, "y": 0.0, "z": 0.0}

# Every field of a reply as the player serializes it, with its empty value (CaptureReply in C#).
REPLY_DEFAULTS: dict[str, Any] = {
    "v": PROTOCOL_VERSION, "id": 0, "op": "", "ok": True, "error": "",
    "protocol": "", "version": 0, "unity_version": "", "package_version": "", "product": "", "controller": "",
    "sky": "", "weather_types": [], "render_pipeline": "", "mask_check": "",
    "scenes": [],
    "scene": "", "viewpoints": [], "foregrounds": [], "paused": False,
    "viewpoint": "", "camera": {"position": dict(_VECTOR), "rotation": dict(_VECTOR), "fov": 0.0},
    "foreground": "", "category": "",
    "weather": "", "weather_type": "", "time": "", "values": [], "frames": 0, "seconds": 0.0,
    "image": "", "mask": "", "width": 0, "height": 0, "mask_pass_diff": 0, "ms": 0.0,
}

# Fields of the small records inside replies (NamedItem, NamedValue, CameraInfo in C#).
RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "NamedItem": ("name", "category"),
    "NamedValue": ("name", "value"),
    "CameraInfo": ("position", "rotation", "fov"),
}


def full_reply(request: dict, **fields: Any) -> dict:
    """A reply to `request` with every field of the protocol, as the player sends it (for the stand-in)."""
    unknown = set(fields) - set(REPLY_DEFAULTS)
    if unknown:
        raise ValueError(f"the protocol has no reply field(s) {sorted(unknown)}")
    reply = json.loads(json.dumps(REPLY_DEFAULTS))   # a deep copy
    reply.update(id=request.get("id", -1), op=request.get("op", ""))
    reply.update(fields)
    return reply


def encode_request(request_id: int, op: str, fields: dict[str, Any]) -> bytes:
    """The bytes of one request; ValueError for an op or field the protocol does not have (a bug)."""
    if op not in REQUEST_FIELDS:
        raise ValueError(f"unknown op {op!r}")
    unknown = set(fields) - set(REQUEST_FIELDS[op])
    if unknown:
        raise ValueError(f"op {op!r} has no field(s) {sorted(unknown)}")
    return json.dumps({"v": PROTOCOL_VERSION, "id": int(request_id), "op": op, **fields}).encode("utf-8")


def decode_message(data: bytes, who: str = "the player") -> dict:
    """Parse one message (request or reply) and check its envelope; ProtocolError when malformed."""
    try:
        msg = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{who} sent a capture message that is not UTF-8 JSON ({exc}): "
                            "update the rdh Unity package to the version of this rdh") from None
    if not isinstance(msg, dict):
        raise ProtocolError(f"{who} sent a capture message that is not a JSON object")
    if msg.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"{who} speaks capture protocol version {msg.get('v')!r}, this rdh speaks "
                            f"{PROTOCOL_VERSION}: install the rdh Unity package from this rdh's unity_bridge/unity")
    if not isinstance(msg.get("id"), int) or not isinstance(msg.get("op"), str):
        raise ProtocolError(f"{who} sent a capture message without an integer id and an op: {msg!r:.200}")
    return msg


def check_reply(reply: dict, op: str, who: str = "the player") -> dict:
    """Return an ok reply to `op` with its fields checked; PlayerReportedError for an error reply,
    ProtocolError for a reply to another op or with missing or mistyped fields."""
    if reply.get("op") != op:
        raise ProtocolError(f"{who} answered request {reply.get('id')} ({op}) as if it were {reply.get('op')!r}")
    if not isinstance(reply.get("ok"), bool):
        raise ProtocolError(f"{who} answered {op} without a boolean 'ok'")
    if not reply["ok"]:
        message = str(reply.get("error") or "no message")
        raise PlayerReportedError(f"{who} answered {op} with an error: {message}")
    for name, kind in REPLY_FIELDS[op].items():
        value = reply.get(name)
        # bool is an int in Python; the protocol never sends a bool where a number is due.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolError(f"{who} answered {op} without a valid {name!r} "
                                f"(got {value!r:.80}): update the rdh Unity package")
    if "sky" in REPLY_FIELDS[op] and reply["sky"] not in SKY_STATES:
        raise ProtocolError(f"{who} answered {op} with the sky state {reply['sky']!r}, not one of {', '.join(SKY_STATES)}")
    return reply
