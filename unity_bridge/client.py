"""The client API: one `PlayerConnection` per player, one method per capture-protocol request.

    spec = PlayerSpec(build=Path("City.x86_64"), log_dir=Path("logs"))
    with PlayerConnection(spec, worker=0) as player:
        scenes = player.list_scenes()
        info = player.load_scene(scenes[0])
        player.set_viewpoint(info["viewpoints"][0]["name"])
        player.set_foreground(info["foregrounds"][0]["name"])
        player.set_style("Cloudy", "12:30", settle_frames=48, settle_seconds=1.0, seed=7)
        files = player.capture(Path("staging"), image="01.png", mask="fg_0.png", width=256, height=256)

A request is sent with the next environment step; the bridge keeps stepping (the player's
agent asks for a decision every frame) until the reply with the same id arrives.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from mlagents_envs.exception import (UnityCommunicatorStoppedException, UnityEnvironmentException,
                                     UnityException)

from unity_bridge.channel import CaptureChannel
from unity_bridge.environment import BridgeEnvironment
from unity_bridge.errors import (PlayerCrashed, PlayerExitedEarly, PlayerReportedError, PlayerTimeout,
                                 PlayerWithoutChannel, ProtocolError)
from unity_bridge.launcher import PlayerProcess, PlayerSpec
from unity_bridge.protocol import CHANNEL_ID, PROTOCOL_NAME, PROTOCOL_VERSION, check_reply


class PlayerConnection:
    """A player (launched build or attached Editor) that answers capture requests."""

    def __init__(self, spec: PlayerSpec, worker: int = 0, attempt: int = 0) -> None:
        self.spec = spec
        self.worker = worker
        self.attempt = attempt      # restarts so far; names the log file of a restarted player
        self.port = spec.port(worker)
        self.who = spec.who(worker)
        self.channel = CaptureChannel(self.who)
        self.env: BridgeEnvironment | None = None
        self.info: dict = {}        # the hello reply: unity_version, product, controller, sky, weather_types, ...
        self.log_hint = ""          # where the player's log is, for error messages
        self.steps = 0              # environment steps taken (one per player frame)

    # -- lifetime -------------------------------------------------------------------------------
    def open(self) -> "PlayerConnection":
        """Start listening, launch the player (or wait for the Editor), shake hands; BridgeError on failure."""
        spec = self.spec
        spec.warn_if_exposed()
        launch = None
        if spec.editor:
            hint = ": press Play in the Unity Editor (its scene needs a CaptureAgent)"
        else:
            log_dir = Path(spec.log_dir) if spec.log_dir else Path(tempfile.mkdtemp(prefix="rdh-unity-logs-"))
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log_hint = f"; see its log in {log_dir}"
            hint = (f": does the build hold the rdh package with a CaptureAgent in its first scene? "
                    f"See its log in {log_dir}")

            def launch() -> PlayerProcess:
                return PlayerProcess.launch(spec, self.worker, self.port, log_dir, self.attempt)

        try:
            self.env = BridgeEnvironment(port=self.port, bind_address=spec.bind_address,
                                         connect_timeout=spec.connect_timeout, reply_timeout=spec.reply_timeout,
                                         who=self.who, hint=hint, launch=launch, side_channels=[self.channel])
        except UnityEnvironmentException as exc:  # e.g. an ML-Agents version the Python side cannot talk to
            raise ProtocolError(f"{self.who}: {' '.join(str(exc).split())}") from None
        except PlayerCrashed as exc:
            raise PlayerExitedEarly(f"{exc}, before it connected") from None
        try:
            self.hello()
        except PlayerTimeout:
            self.close(grace=0.0)
            if self.steps == 0:
                raise PlayerWithoutChannel(
                    f"{self.who} connected through ML-Agents but then sent nothing within {spec.reply_timeout:g} s "
                    "(--reply-timeout): no agent asks for decisions; its first scene needs a CaptureAgent with "
                    f"Behavior Type Default{self.log_hint}") from None
            raise PlayerWithoutChannel(
                f"{self.who} connected through ML-Agents and stepped {self.steps} frames, but never answered the rdh "
                f"handshake on the capture side channel {CHANNEL_ID} within {spec.reply_timeout:g} s "
                "(--reply-timeout): the player does not register it; put a CaptureAgent in the first scene of the "
                f"build, from the rdh package of this rdh (unity_bridge/unity){self.log_hint}") from None
        except BaseException:
            self.close(grace=0.0)
            raise
        return self

    def close(self, grace: float = 5.0) -> None:
        """Tell the player to quit and wait up to `grace` seconds before killing it."""
        if self.env is not None:
            self.env.shutdown(grace)
            self.env = None

    def __enter__(self) -> "PlayerConnection":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close(grace=0.0 if exc[0] is not None else 5.0)

    @property
    def process(self) -> PlayerProcess | None:
        return self.env.player if self.env is not None else None

    # -- requests -------------------------------------------------------------------------------
    def _step(self) -> None:
        try:
            self.env.step()
        except UnityCommunicatorStoppedException:
            raise PlayerCrashed(f"{self.who} closed the connection (it quit or its scene stopped)") from None
        except UnityException as exc:
            raise ProtocolError(f"{self.who}: {' '.join(str(exc).split())}") from None
        self.steps += 1

    def request(self, op: str, **fields: Any) -> dict:
        """Send one request and step until its reply arrives; returns the checked ok reply."""
        if self.env is None:
            raise RuntimeError("PlayerConnection.request before open()")
        request_id = self.channel.send(op, fields)
        deadline = time.monotonic() + self.spec.reply_timeout
        try:
            while True:
                self._step()
                if self.channel.orphans:  # first: an error the player could not tie to a request is not lost
                    orphan = self.channel.orphans.pop(0)
                    raise PlayerReportedError(f"{self.who} answered a request rdh did not send "
                                              f"(id {orphan.get('id')}, while waiting for {op}): "
                                              f"{orphan.get('error') or 'no message'}")
                reply = self.channel.take_reply(request_id)
                if reply is not None:
                    return check_reply(reply, op, self.who)
                if time.monotonic() > deadline:
                    raise PlayerTimeout(f"{self.who} did not answer {op} within {self.spec.reply_timeout:g} s "
                                        f"(--reply-timeout) although it kept running; it was stopped")
        except (PlayerTimeout, PlayerCrashed):
            self.close(grace=0.0)  # a silent player is not waited for; a crashed one is cleaned up
            raise

    def hello(self) -> dict:
        """The handshake, answered at once: the player's versions, its render pipeline, the mask
        self-check it passed (a failed one is an error reply naming the likely cause) and its sky's
        state. A sky that comes with the content scenes is `pending` (or `none`, controller and all)
        until load_scene, which waits for it."""
        reply = self.request("hello", protocol=PROTOCOL_NAME)
        if reply["protocol"] != PROTOCOL_NAME or reply["version"] != PROTOCOL_VERSION:
            raise ProtocolError(f"{self.who} speaks {reply['protocol']!r} version {reply['version']}, "
                                f"this rdh speaks {PROTOCOL_NAME!r} version {PROTOCOL_VERSION}: install the rdh "
                                "Unity package from this rdh's unity_bridge/unity")
        self.info = {k: reply[k] for k in ("unity_version", "product", "controller", "sky", "weather_types",
                                           "package_version", "render_pipeline", "mask_check")}
        return reply

    def ping(self) -> dict:
        return self.request("ping")

    def list_scenes(self) -> list[str]:
        scenes = self.request("list_scenes")["scenes"]
        if not scenes or not all(isinstance(s, str) and s for s in scenes):
            raise ProtocolError(f"{self.who} lists no scenes: add your scenes to the build's Scenes In Build list")
        return scenes

    def load_scene(self, scene: str) -> dict:
        """Load a scene (the player waits for its sky, pauses it and checks its mask again); the reply
        lists its viewpoints [{name}] and foregrounds [{name, category}], its sky controller, the sky's
        state and weather types."""
        reply = self.request("load_scene", scene=scene)
        for key, needed in (("viewpoints", ("name",)), ("foregrounds", ("name", "category"))):
            for item in reply[key]:
                if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item[k] for k in needed):
                    raise ProtocolError(f"{self.who} listed a malformed {key[:-1]} in scene {scene!r}: {item!r:.100}")
        return reply

    def set_viewpoint(self, viewpoint: str) -> dict:
        return self.request("set_viewpoint", viewpoint=viewpoint)

    def set_foreground(self, foreground: str) -> dict:
        return self.request("set_foreground", foreground=foreground)

    def set_style(self, weather: str, time_hhmm: str, settle_frames: int, settle_seconds: float = 0.0,
                  seed: int = 0) -> dict:
        """Set weather (by name) and time of day (seeding the sky's randomness with `seed`), and let the
        sky settle for at least `settle_frames` frames and `settle_seconds` seconds and until it shows
        them; the reply holds the applied values and the frames and seconds waited."""
        return self.request("set_style", weather=weather, time=time_hhmm, settle_frames=int(settle_frames),
                            settle_seconds=float(settle_seconds), seed=int(seed) & 0x7FFFFFFF)

    def capture(self, folder: Path, *, image: str = "", mask: str = "", width: int, height: int) -> dict:
        """Render into `folder` (image and/or mask file names); returns the reply with 'image_path' and
        'mask_path' checked: each claimed file exists, is not empty and lies inside `folder`."""
        folder = Path(folder).resolve()
        reply = self.request("capture", folder=str(folder), image=image, mask=mask, width=int(width),
                             height=int(height))
        for key, name in (("image", image), ("mask", mask)):
            reply[f"{key}_path"] = self._claimed_file(folder, reply[key], key) if name else None
        if (reply["width"], reply["height"]) != (int(width), int(height)):
            raise ProtocolError(f"{self.who} captured {reply['width']}x{reply['height']} instead of {width}x{height}")
        return reply

    def _claimed_file(self, folder: Path, claimed: str, what: str) -> Path:
        if not claimed:
            raise ProtocolError(f"{self.who} answered capture without the {what} file it was asked for")
        path = Path(claimed)
        path = (path if path.is_absolute() else folder / path).resolve()
        if folder != path.parent and folder not in path.parents:
            raise ProtocolError(f"{self.who} claims the {what} file {claimed}, outside the capture folder {folder}")
        if not path.is_file():
            raise ProtocolError(f"{self.who} claims the {what} file {claimed}, which does not exist: "
                                "check the player's disk and log")
        if path.stat().st_size == 0:
            raise ProtocolError(f"{self.who} claims the {what} file {claimed}, which is empty")
        return path
