"""mlagents_envs' gRPC server, bound to one address (loopback by default) with two timeouts.

`RpcCommunicator` listens on `[::]:port` (every interface, with SO_REUSEPORT), so anyone who
can reach the machine could connect as the player, and a second server could share the port.
`BridgeCommunicator` listens on the address it is given, refuses a port in use, and separates
the time allowed to connect (a player build can take a minute to load) from the time allowed
for each reply; it checks the player process between short polls so a crash is seen at once.
The gRPC thread hands messages to the caller through in-process mailboxes instead of
mlagents' multiprocessing pipe, which pickled every message through the kernel twice.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional

import grpc
from mlagents_envs.communicator_objects.unity_input_pb2 import UnityInputProto
from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_envs.communicator_objects.unity_output_pb2 import UnityOutputProto
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import (UnityToExternalProtoServicer,
                                                                           add_UnityToExternalProtoServicer_to_server)
from mlagents_envs.rpc_communicator import RpcCommunicator

from unity_bridge.errors import BridgeError, PlayerLaunchError, PlayerNotConnected, PlayerTimeout
from unity_bridge.ports import grpc_address, port_is_free

POLL_SECONDS = 0.05  # how often the player process is checked while waiting


class _Mailbox:
    """A thread-safe queue that can be polled with a timeout and closed (recv then raises EOFError)."""

    def __init__(self) -> None:
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def poll(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: bool(self._items) or self._closed, timeout)

    def get(self):
        with self._cond:
            self._cond.wait_for(lambda: bool(self._items) or self._closed)
            if self._items:
                return self._items.popleft()
            raise EOFError("mailbox closed")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class _Endpoint:
    """One end of a two-way in-process channel, with the Connection methods RpcCommunicator uses."""

    def __init__(self, inbox: _Mailbox, outbox: _Mailbox) -> None:
        self._inbox, self._outbox = inbox, outbox
        self.send, self.recv, self.poll = outbox.put, inbox.get, inbox.poll

    def close(self) -> None:
        self._inbox.close()
        self._outbox.close()


class _Servicer(UnityToExternalProtoServicer):
    """The gRPC service: each call from the player is handed to the bridge, whose answer is returned."""

    def __init__(self) -> None:
        to_bridge, to_player = _Mailbox(), _Mailbox()
        self.parent_conn = _Endpoint(inbox=to_bridge, outbox=to_player)  # the bridge's end
        self.child_conn = _Endpoint(inbox=to_player, outbox=to_bridge)   # the gRPC thread's end

    def Exchange(self, request, context):
        self.child_conn.send(request)
        return self.child_conn.recv()

    Initialize = Exchange  # Unity's communicator initializes through Exchange; both behave alike


class BridgeCommunicator(RpcCommunicator):
    """The Python side of one player connection (Python is the gRPC server, the player the client)."""

    def __init__(self, port: int, bind_address: str, connect_timeout: float, reply_timeout: float,
                 who: str, hint: str = "") -> None:
        self.bind_address = bind_address
        self.connect_timeout = float(connect_timeout)
        self.reply_timeout = float(reply_timeout)
        self.who = who
        self.hint = hint  # appended to the not-connected message (e.g. where the player log is)
        super().__init__(worker_id=0, base_port=int(port), timeout_wait=max(1, int(reply_timeout)))

    # -- server ---------------------------------------------------------------------------------
    def create_server(self) -> None:
        where = grpc_address(self.bind_address, self.port)
        if not port_is_free(self.bind_address, self.port):
            raise PlayerLaunchError(f"port {where} is in use (another rdh run or program?): "
                                    f"pick a free --base-port")
        server = grpc.server(ThreadPoolExecutor(max_workers=4), options=(("grpc.so_reuseport", 0),))
        self.unity_to_external = _Servicer()
        add_UnityToExternalProtoServicer_to_server(self.unity_to_external, server)
        try:
            bound = server.add_insecure_port(where)
        except RuntimeError:
            bound = 0
        if not bound:
            server.stop(None)
            raise PlayerLaunchError(f"cannot listen on {where}: check --bind-address (an address of this "
                                    f"machine) and --base-port")
        server.start()
        self.server = server
        self.is_open = True

    def check_port(self, port: int) -> None:  # done in create_server, on the chosen address
        return None

    # -- waiting --------------------------------------------------------------------------------
    def _wait(self, seconds: float, poll_callback: Optional[Callable[[], None]],
              on_timeout: Callable[[], BridgeError]) -> None:
        deadline = time.monotonic() + seconds
        conn = self.unity_to_external.parent_conn
        while True:
            remaining = deadline - time.monotonic()
            if conn.poll(min(POLL_SECONDS, max(remaining, 0.0))):
                return
            if poll_callback is not None:
                poll_callback()  # raises PlayerCrashed when the process is gone
            if remaining <= 0:
                raise on_timeout()

    def _not_connected(self) -> BridgeError:
        return PlayerNotConnected(f"{self.who} did not connect within {self.connect_timeout:g} s "
                                  f"(--connect-timeout){self.hint}")

    def _silent(self) -> BridgeError:
        return PlayerTimeout(f"{self.who} stopped answering: no reply within {self.reply_timeout:g} s "
                             f"(--reply-timeout); it was stopped")

    def initialize(self, inputs: UnityInputProto, poll_callback=None) -> UnityOutputProto:
        self._wait(self.connect_timeout, poll_callback, self._not_connected)
        academy_parameters = self.unity_to_external.parent_conn.recv().unity_output
        message = UnityMessageProto()
        message.header.status = 200
        message.unity_input.CopyFrom(inputs)
        self.unity_to_external.parent_conn.send(message)
        # The player follows with an empty exchange; the first step answers it.
        self._wait(self.reply_timeout, poll_callback, self._silent)
        self.unity_to_external.parent_conn.recv()
        return academy_parameters

    def exchange(self, inputs: UnityInputProto, poll_callback=None) -> Optional[UnityOutputProto]:
        message = UnityMessageProto()
        message.header.status = 200
        message.unity_input.CopyFrom(inputs)
        self.unity_to_external.parent_conn.send(message)
        self._wait(self.reply_timeout, poll_callback, self._silent)
        output = self.unity_to_external.parent_conn.recv()
        if output.header.status != 200:
            return None
        return output.unity_output

    def close(self) -> None:
        if self.is_open:
            message = UnityMessageProto()
            message.header.status = 400  # tells the player to quit
            try:
                self.unity_to_external.parent_conn.send(message)
                self.unity_to_external.parent_conn.close()
            except OSError:
                pass
            self.server.stop(grace=1.0)  # lets the pending exchange deliver the quit message
            self.is_open = False
