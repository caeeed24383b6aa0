"""The Python end of the capture side channel: queue requests, collect replies by id."""
from __future__ import annotations

from typing import Any

from mlagents_envs.side_channel import IncomingMessage, OutgoingMessage, SideChannel

from unity_bridge.protocol import CHANNEL_ID, decode_message, encode_request


class CaptureChannel(SideChannel):
    """Requests go out with the next environment step; replies arrive with a later one."""

    def __init__(self, who: str = "the player") -> None:
        super().__init__(CHANNEL_ID)
        self.who = who
        self._next_id = 1
        self._replies: dict[int, dict] = {}
        self.orphans: list[dict] = []   # replies to no request rdh sent (the player could not read one)

    def send(self, op: str, fields: dict[str, Any]) -> int:
        """Queue one request for the next step; returns its id."""
        request_id = self._next_id
        self._next_id += 1
        msg = OutgoingMessage()
        msg.set_raw_bytes(bytearray(encode_request(request_id, op, fields)))
        self.queue_message_to_send(msg)
        return request_id

    def on_message_received(self, msg: IncomingMessage) -> None:
        reply = decode_message(bytes(msg.get_raw_bytes()), self.who)
        if not 0 < reply["id"] < self._next_id:
            self.orphans.append(reply)
            return
        self._replies[reply["id"]] = reply

    def take_reply(self, request_id: int) -> dict | None:
        """The reply to request_id if it has arrived (removed from the inbox), else None."""
        return self._replies.pop(request_id, None)
