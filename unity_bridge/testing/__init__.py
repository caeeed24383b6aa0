"""A stand-in for a Unity player, for tests and benchmarks: `python -m unity_bridge.testing.player`.

It speaks Unity's side of the ML-Agents protocol over real gRPC with mlagents_envs' own
protobuf messages and answers the capture channel by drawing frames with numpy.
"""
