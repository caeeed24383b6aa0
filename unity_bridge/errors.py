"""Errors of the Unity bridge: a player that does not start, connect or answer."""


class BridgeError(Exception):
    """A Unity player or editor misbehaved; the message says which and what to do."""
