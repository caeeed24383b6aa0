"""Errors of the Unity bridge: a player that does not start, connect or answer.

Every error is a `BridgeError` (the CLI prints it on one line and exits 2); the subclasses let
the render engine tell a crashed player (restart it) from one that is silent (stop the run).
"""


class BridgeError(Exception):
    """A Unity player or editor misbehaved; the message says which and what to do."""


class PlayerLaunchError(BridgeError):
    """The player executable could not be started (missing, not executable, port in use)."""


class PlayerNotConnected(BridgeError):
    """No player connected within the connect timeout."""


class PlayerWithoutChannel(BridgeError):
    """A player connected through ML-Agents but never answered on the rdh capture side channel."""


class PlayerTimeout(BridgeError):
    """A connected player stopped answering within the reply timeout."""


class PlayerCrashed(BridgeError):
    """The player process exited while the bridge was talking to it."""


class PlayerExitedEarly(PlayerCrashed):
    """The player process exited before it connected: a broken build, which a restart does not mend."""


class PlayerReportedError(BridgeError):
    """The player answered a request with an error message."""


class ProtocolError(BridgeError):
    """The player sent something the capture protocol does not allow (bad version, bad message,
    a claimed file that does not exist)."""
