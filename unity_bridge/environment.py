"""`UnityEnvironment` on a `BridgeCommunicator`, launching the player once the server listens.

UnityEnvironment creates its communicator first and then waits for the player, so the player
is launched from `_get_communicator`, right after the server starts listening (a Unity player
that finds nobody listening gives up on Python and runs on its own). The bridge owns the
process: UnityEnvironment's own launcher is bypassed (file_name=None).
"""
from __future__ import annotations

import atexit
from typing import Callable

from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.side_channel import SideChannel

from unity_bridge.communicator import BridgeCommunicator
from unity_bridge.launcher import PlayerProcess


class BridgeEnvironment(UnityEnvironment):
    """One connected player. Construction returns once the ML-Agents handshake is done."""

    def __init__(self, *, port: int, bind_address: str, connect_timeout: float, reply_timeout: float,
                 who: str, hint: str, launch: Callable[[], PlayerProcess] | None,
                 side_channels: list[SideChannel]) -> None:
        self._bridge_options = dict(port=port, bind_address=bind_address, connect_timeout=connect_timeout,
                                    reply_timeout=reply_timeout, who=who, hint=hint)
        self._launch = launch
        self.player: PlayerProcess | None = None
        try:
            super().__init__(file_name=None, worker_id=0, base_port=port, seed=0,
                             timeout_wait=max(1, int(reply_timeout)), side_channels=side_channels)
        except BaseException:
            self.shutdown(grace=0.0)
            raise

    def _get_communicator(self, worker_id, base_port, timeout_wait):  # noqa: D401 (UnityEnvironment hook)
        o = self._bridge_options
        communicator = BridgeCommunicator(o["port"], o["bind_address"], o["connect_timeout"], o["reply_timeout"],
                                          o["who"], o["hint"])
        try:
            self.player = self._launch() if self._launch is not None else None
        except BaseException:
            communicator.close()
            raise
        return communicator

    def _poll_process(self) -> None:
        if self.player is not None:
            self.player.check_alive()

    def shutdown(self, grace: float = 5.0) -> None:
        """Tell the player to quit, stop listening, and make sure the process is gone."""
        atexit.unregister(self._close)  # registered by UnityEnvironment; this is its replacement
        communicator = getattr(self, "_communicator", None)
        if communicator is not None:
            communicator.close()
        self._loaded = False
        if self.player is not None:
            self.player.stop(grace)
