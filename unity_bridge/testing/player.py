"""The stand-in player: Unity's side of the ML-Agents protocol, played by Python.

    python -m unity_bridge.testing.player --mlagents-port 5005 [-logFile player.log]
        [--catalog scenes.json] [--controller numpy] [--sky-layout bootstrap] [--sky-ready-frames 0]
        [--sky-reseeds] [--render-pipeline built-in] [--fault crash --fault-after 3 --fault-once marker]

Like a Unity player built with the rdh package, it connects to the bridge as a gRPC client
(rdh is the server), sends the academy parameters, then one agent observation per frame with
the capture channel's replies, and reads the capture requests from each answer. It draws its
frames with numpy (unity_bridge.testing.frames) and writes them as PNG files, as the real
package does. Unknown arguments (-batchmode, -nographics, ...) are ignored, as Unity does.

It follows the rules of the C# agent (CaptureAgent.cs, CaptureRules.cs): every reply carries
every field of the protocol; the capture folder must be absolute and file names plain; `hello`
is answered at once with the sky's state (ready, pending or none) and the mask self-check it
passed; `load_scene` waits for the sky (--sky-ready-frames after connecting, or after each load
when the sky comes with the content scenes: --sky-layout, testing/sky.py); `set_style` is
answered after at least settle_frames frames and settle_seconds seconds; a loaded scene is
reported paused. With --sky-reseeds its sky draws cloud coverage from the clock and advances
its moon at noon, and its controller sets both from the style's seed, as the package's
UniStormSkyController does.

Faults, for the tests (a capture request counts as one step towards --fault-after):
  no-connect        never connect
  no-channel        connect and step, but never answer on the capture channel (no CaptureAgent)
  hang              stop exchanging (stay alive, silent) at capture N+1
  mute              keep exchanging but never answer capture N+1
  error             answer capture N+1 with an error
  missing-file      answer capture N+1 with a file that does not exist
  corrupt-file      write capture N+1's files with bytes that are not a PNG
  crash             exit with code 3 at capture N+1
  bad-version       answer hello with the next protocol version
  old-player        speak capture protocol 2 (package 0.2.0): refuse every request of this rdh
  mask-check        fail the mask self-check (a renderer feature paints over the id pass)
  noisy-mask        from capture N+1 on, report that the mask's two id passes disagree on 1/20 of the pixels
  unseeded-sky      with --sky-reseeds: leave coverage and moon phase as the sky drew them (package 0.2.0)
  moving-foreground from capture N+1 on, each set_style moves the foreground a little (unfrozen animation)
With --fault-once PATH the fault fires only while PATH does not exist (it is created when the
fault fires), so a restarted player behaves.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
import uuid
from collections import deque
from pathlib import Path

import cv2
import grpc
import numpy as np
from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_envs.communicator_objects.brain_parameters_pb2 import ActionSpecProto, BrainParametersProto
from mlagents_envs.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto
from mlagents_envs.communicator_objects.command_pb2 import QUIT
from mlagents_envs.communicator_objects.header_pb2 import HeaderProto
from mlagents_envs.communicator_objects.observation_pb2 import ObservationProto
from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_envs.communicator_objects.unity_output_pb2 import UnityOutputProto
from mlagents_envs.communicator_objects.unity_rl_initialization_output_pb2 import UnityRLInitializationOutputProto
from mlagents_envs.communicator_objects.unity_rl_output_pb2 import UnityRLOutputProto
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub

from unity_bridge.protocol import CHANNEL_ID, PACKAGE_VERSION, PROTOCOL_NAME, PROTOCOL_VERSION, full_reply
from unity_bridge.testing.frames import DEFAULT_CATALOG, WEATHERS, draw, lighting
from unity_bridge.testing.sky import LAYOUTS, StandInSky

BEHAVIOR = "RdhCapture?team=0"
COMMUNICATION_VERSION = "1.5.0"   # com.unity.ml-agents 2.0.x to 3.0.0 speak it
MLAGENTS_PACKAGE_VERSION = "2.0.1"   # the oldest the rdh package supports
FAULTS = ("none", "no-connect", "no-channel", "hang", "mute", "error", "missing-file", "corrupt-file", "crash",
          "bad-version", "old-player", "mask-check", "noisy-mask", "unseeded-sky", "moving-foreground")
OLD_PROTOCOL = 2    # what fault old-player speaks
MASK_CHECK = "stand-in: a test square read back exactly"
FAILED_MASK_CHECK = ("mask self-check failed (URP: the default renderer, with its renderer features (none switched "
                     "off)): a test square drawn in ids 3C5A78/3C5A79 read back right on 0 of 196 pixels, was missing "
                     "on 0, showed other ids on 196 (e.g. 4A6680/4A6681), and 700 of 700 background pixels were not "
                     "the background id 0: something draws over the id target after the opaque pass: a renderer "
                     "feature (fog, cloud shadows, SSAO, decals, Render Objects, a full-screen pass) or post-processing")
MAX_SIZE = 8192


class RequestError(ValueError):
    """A request the C# agent would answer with an error (its CaptureException)."""


def check_folder(folder) -> Path:
    """The capture folder, which must be an absolute path (CaptureRules.Folder)."""
    if not isinstance(folder, str) or not folder or "\0" in folder or not os.path.isabs(folder):
        raise RequestError(f"capture folder '{folder}' is not an absolute path")
    return Path(folder)


def plain_file_name(name) -> str:
    """A file name without any folder part (CaptureRules.PlainFileName)."""
    if (not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0:")):
        raise RequestError(f"file name '{name}' must be a plain file name, without a folder")
    return name


# -- side channel framing (the same bytes Unity's SideChannelManager writes) -----------------------
def pack_side_channel(messages: list[bytes]) -> bytes:
    out = bytearray()
    for data in messages:
        out += CHANNEL_ID.bytes_le + struct.pack("<i", len(data)) + data
    return bytes(out)


def unpack_side_channel(data: bytes) -> list[tuple[uuid.UUID, bytes]]:
    out, offset = [], 0
    while offset < len(data):
        channel = uuid.UUID(bytes_le=bytes(data[offset:offset + 16]))
        (length,) = struct.unpack_from("<i", data, offset + 16)
        offset += 20
        out.append((channel, bytes(data[offset:offset + length])))
        offset += length
    return out


class StandInPlayer:
    """One player process: a scene catalog, the current capture state, and the faults to play."""

    def __init__(self, port: int, catalog: dict, fault: str = "none", fault_after: int = 0,
                 fault_once: Path | None = None, log_file: Path | None = None, address: str = "127.0.0.1",
                 connect_wait: float = 30.0, sky: StandInSky | None = None, render_pipeline: str = "built-in") -> None:
        self.port, self.address, self.connect_wait = port, address, connect_wait
        self.catalog = {s["name"]: s for s in catalog["scenes"]}
        self.fault, self.fault_after, self.fault_once = fault, fault_after, fault_once
        self.log_path = log_file
        self.scene: dict | None = None
        self.viewpoint: dict | None = None
        self.foreground: dict | None = None
        self.weather, self.minutes = "Clear", 12 * 60
        self.captures = 0
        self.requests: deque[dict] = deque()
        self.delayed: list[list] = []      # [frames_left, reply]: replies waiting for the sky to settle
        self.outbox: list[bytes] = []
        self.hung = False
        self.muted = False
        self.sky = sky or StandInSky("numpy")
        self.sky.seeded = fault != "unseeded-sky"
        self.render_pipeline = render_pipeline
        self.frame = 0                     # frames since connecting
        self.moved = 0                     # styles set while the foreground was moving (fault moving-foreground)
        self.moving = False

    # -- logging ----------------------------------------------------------------------------------
    def log(self, text: str) -> None:
        line = f"[rdh stand-in player :{self.port}] {text}\n"
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(line)

    # -- faults -----------------------------------------------------------------------------------
    def _fault_fires(self, mode: str) -> bool:
        if self.fault != mode:
            return False
        if mode not in ("no-connect", "bad-version", "mask-check") and \
                self.captures <= self.fault_after:
            return False
        if self.fault_once is not None:
            if self.fault_once.exists():
                return False
            self.fault_once.write_text(mode)
        return True

    # -- protocol ---------------------------------------------------------------------------------
    def run(self) -> int:
        if self._fault_fires("no-connect"):
            self.log("fault no-connect: not connecting")
            while True:
                time.sleep(3600)
        channel = grpc.insecure_channel(f"{self.address}:{self.port}")
        try:
            grpc.channel_ready_future(channel).result(timeout=self.connect_wait)
        except grpc.FutureTimeoutError:
            self.log("nobody listens on the port: giving up, as a Unity player does")
            return 1
        stub = UnityToExternalProtoStub(channel)
        self.log("connected")
        init = UnityRLInitializationOutputProto(
            name="rdh stand-in player", communication_version=COMMUNICATION_VERSION,
            package_version=MLAGENTS_PACKAGE_VERSION,
            capabilities=UnityRLCapabilitiesProto(baseRLCapabilities=True, concatenatedPngObservations=True,
                                                  compressedChannelMapping=True, hybridActions=True,
                                                  trainingAnalytics=True, variableLengthObservation=True,
                                                  multiAgentGroups=True))
        try:
            stub.Exchange(self._message(UnityOutputProto(rl_initialization_output=init)))
            answer = stub.Exchange(UnityMessageProto(header=HeaderProto(status=200)))
            first = True
            while True:
                if answer.header.status != 200 or answer.unity_input.rl_input.command == QUIT:
                    self.log("rdh closed the session: quitting")
                    return 0
                self._receive(answer.unity_input.rl_input.side_channel)
                self._advance_frame()
                while self.hung:
                    time.sleep(3600)
                answer = stub.Exchange(self._message(self._output(first)))
                first = False
        except grpc.RpcError as exc:
            self.log(f"connection lost ({exc.code().name}): quitting")
            return 0

    @staticmethod
    def _message(output: UnityOutputProto) -> UnityMessageProto:
        return UnityMessageProto(header=HeaderProto(status=200), unity_output=output)

    def _output(self, first: bool) -> UnityOutputProto:
        """One frame: the agent's observation (pending requests) and the queued replies."""
        obs = ObservationProto(shape=[1], observation_type=0)
        obs.float_data.data.append(float(len(self.requests)))
        agent = AgentInfoProto(id=0, reward=0.0, done=False, observations=[obs])
        rl = UnityRLOutputProto(side_channel=pack_side_channel(self.outbox))
        rl.agentInfos[BEHAVIOR].value.append(agent)
        self.outbox = []
        out = UnityOutputProto(rl_output=rl)
        if first:  # the behavior's parameters travel with its first observation, as Unity does
            brain = BrainParametersProto(brain_name=BEHAVIOR, is_training=True,
                                         action_spec=ActionSpecProto(num_continuous_actions=1))
            out.rl_initialization_output.brain_parameters.append(brain)
        return out

    def _receive(self, side_channel: bytes) -> None:
        for channel, data in unpack_side_channel(side_channel):
            if channel != CHANNEL_ID:
                continue  # other channels (ML-Agents' analytics) are not ours
            try:
                request = json.loads(data.decode("utf-8"))
                if not isinstance(request, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError too
                # Answered all the same, as the agent does: with the id and op read from the text.
                text = data.decode("utf-8", "replace")
                found_id, found_op = re.search(r'"id"\s*:\s*(-?\d+)', text), re.search(r'"op"\s*:\s*"([a-z_]*)"', text)
                request = {"v": PROTOCOL_VERSION, "id": int(found_id.group(1)) if found_id else -1,
                           "op": found_op.group(1) if found_op else "",
                           "parse_error": f"the player could not read request: {type(exc).__name__}: {exc}"}
                self.log(request["parse_error"])
            self.requests.append(request)

    def _advance_frame(self) -> None:
        """One frame: advance the reply in progress, then start queued requests in order, one at a
        time as the agent does. A reply in progress is [done(frame) -> bool, reply dict]."""
        self.frame += 1
        if self.fault == "no-channel":
            self.requests.clear()          # a player without a CaptureAgent never reads the channel
            return
        while self.delayed and self.delayed[0][0](self.frame):
            self.outbox.append(json.dumps(self.delayed.pop(0)[1]).encode("utf-8"))
        while self.requests and not self.delayed:
            request = self.requests.popleft()
            reply, done = self._handle(request)
            if reply is None:
                continue
            if done is not None and not done(self.frame):
                self.delayed.append([done, reply])
            else:
                self.outbox.append(json.dumps(reply).encode("utf-8"))

    # -- requests ---------------------------------------------------------------------------------
    def _after(self, frames: int, seconds: float = 0.0):
        """A `done` test: at least `frames` frames from now and `seconds` of real time have passed."""
        first, start = self.frame + frames, time.monotonic()
        return lambda frame: frame >= first and time.monotonic() - start >= seconds

    def _handle(self, req: dict):
        """(reply, done test or None) of one request; the reply carries every protocol field."""
        op = req.get("op")
        try:
            if self.fault == "old-player":   # package 0.2.0's agent refuses a request of another version
                return {**full_reply(req, ok=False, error=f"capture protocol version {req.get('v')} is not "
                                                          f"{OLD_PROTOCOL}: use the rdh Unity package that comes "
                                                          "with your rdh"), "v": OLD_PROTOCOL}, None
            if req.get("parse_error"):
                raise RequestError(req["parse_error"])
            if req.get("v") != PROTOCOL_VERSION:
                raise RequestError(f"capture protocol version {req.get('v')} is not {PROTOCOL_VERSION}")
            if op == "hello":
                return self._hello(req), None
            if op == "ping":
                return full_reply(req), None
            if op == "list_scenes":
                return full_reply(req, scenes=list(self.catalog)), None
            if op == "load_scene":
                return self._load_scene(req)
            if op == "set_viewpoint":
                self.viewpoint = self._find("viewpoints", req.get("viewpoint"))
                return full_reply(req, viewpoint=self.viewpoint["name"],
                                  camera={"position": {"x": 0.0, "y": 1.6, "z": -5.0 * self.viewpoint.get("zoom", 1.0)},
                                          "rotation": {"x": 5.0, "y": 0.0, "z": 0.0}, "fov": 60.0}), None
            if op == "set_foreground":
                self.foreground = self._find("foregrounds", req.get("foreground"))
                return full_reply(req, foreground=self.foreground["name"], category=self.foreground["category"]), None
            if op == "set_style":
                return self._set_style(req)
            if op == "capture":
                return self._capture(req), None
            raise RequestError(f"unknown op '{op}'")
        except RequestError as exc:
            return full_reply(req, ok=False, error=str(exc)), None

    def _hello(self, req: dict) -> dict:
        """Answered at once, as the agent does: the sky may not be there before a content scene is loaded."""
        if self._fault_fires("mask-check"):
            raise RequestError(FAILED_MASK_CHECK)
        version = PROTOCOL_VERSION + 1 if self._fault_fires("bad-version") else PROTOCOL_VERSION
        sky = self.sky
        return full_reply(req, protocol=PROTOCOL_NAME, version=version, unity_version="stand-in",
                          package_version=PACKAGE_VERSION, product="rdh stand-in player",
                          controller=sky.controller_name(), sky=sky.state(self.frame),
                          weather_types=list(WEATHERS) if sky.ready(self.frame) else [],
                          render_pipeline=self.render_pipeline, mask_check=MASK_CHECK)

    def _load_scene(self, req: dict):
        """Answered once the scene is loaded and its sky ready (a sky of the content scenes starts with the load)."""
        scene = self.catalog.get(req.get("scene"))
        if scene is None:
            raise RequestError(f"no scene named '{req.get('scene')}' (this build offers: {', '.join(self.catalog)})")
        self.scene, self.viewpoint, self.foreground = scene, None, None
        sky = self.sky
        sky.scene_loaded(self.frame)
        reply = full_reply(req, scene=scene["name"], paused=True, mask_check=MASK_CHECK,
                           viewpoints=[{"name": v["name"], "category": ""} for v in scene["viewpoints"]],
                           foregrounds=[{"name": f["name"], "category": f["category"]} for f in scene["foregrounds"]])
        loaded = self._after(1)

        def done(frame: int) -> bool:
            if not (loaded(frame) and sky.ready(frame)):
                return False
            reply.update(controller=sky.controller_name(), sky=sky.state(frame), weather_types=list(WEATHERS))
            return True
        return reply, done

    def _find(self, kind: str, name) -> dict:
        if self.scene is None:
            raise RequestError("no scene loaded: send load_scene first")
        for item in self.scene[kind]:
            if item["name"] == name:
                return item
        raise RequestError(f"scene '{self.scene['name']}' has no {kind[:-1]} named '{name}'")

    def _set_style(self, req: dict):
        weather, text = req.get("weather"), str(req.get("time", ""))
        frames, seconds = req.get("settle_frames", 0), req.get("settle_seconds", 0.0)
        if weather not in WEATHERS:
            raise RequestError(f"no weather type named '{weather}' (known: {', '.join(WEATHERS)})")
        parts = text.split(":")
        if len(parts) != 2 or not all(len(p) == 2 and p.isdigit() for p in parts) or int(parts[0]) > 23 \
                or int(parts[1]) > 59:
            raise RequestError(f"time '{text}' is not HH:MM")
        if not isinstance(frames, int) or frames < 0 or not isinstance(seconds, (int, float)) or seconds < 0:
            raise RequestError(f"settle_frames {frames} / settle_seconds {seconds} must be 0 or more")
        hours, minutes = int(parts[0]), int(parts[1])
        if not self.sky.ready(self.frame):
            raise RequestError(f"the {self.sky.controller_name()} sky is not ready: load_scene first")
        self.weather, self.minutes = weather, hours * 60 + minutes
        if self.moving:
            self.moved += 1                # an animation that was not paused: the pose changes with time
        drawn = self.sky.apply(weather, self.minutes, int(req.get("seed", 0)))
        values = [{"name": k, "value": v} for k, v in {**lighting(weather, self.minutes, self.sky.coverage),
                                                        **drawn}.items()]
        start_frame, start = self.frame, time.monotonic()
        reply = full_reply(req, weather=weather, weather_type=weather, time=f"{hours:02d}:{minutes:02d}",
                           values=values)
        settled = self._after(max(1, frames), float(seconds))

        def done(frame: int) -> bool:
            if not settled(frame):
                return False
            reply.update(frames=frame - start_frame, seconds=round(time.monotonic() - start, 6))
            return True
        return reply, done

    def _capture(self, req: dict) -> dict | None:
        self.captures += 1
        if self._fault_fires("crash"):
            self.log(f"fault crash: exiting at capture {self.captures}")
            os._exit(3)
        if self._fault_fires("hang"):
            self.log(f"fault hang: going silent at capture {self.captures}")
            self.hung = True
            return None
        if self.muted or self._fault_fires("mute"):
            self.muted = True
            return None
        if self._fault_fires("error"):
            raise RequestError("simulated render failure (stand-in fault 'error')")
        if self._fault_fires("moving-foreground"):
            self.moving = True
        width, height = req.get("width", 0), req.get("height", 0)
        if not all(isinstance(n, int) and 0 < n <= MAX_SIZE for n in (width, height)):
            raise RequestError(f"capture size {width}x{height} is out of 1..{MAX_SIZE}")
        folder = check_folder(req.get("folder"))
        image = plain_file_name(req["image"]) if req.get("image") else ""
        mask_name = plain_file_name(req["mask"]) if req.get("mask") else ""
        if self.scene is None or self.viewpoint is None or (mask_name and self.foreground is None):
            raise RequestError("capture needs a loaded scene, a viewpoint and a foreground")
        start = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        foreground = self.foreground or {"name": "", "category": ""}
        viewpoint = {**self.viewpoint, "shift": 0.02 * self.moved}
        rgb, mask = draw(self.scene["name"], viewpoint, foreground, self.weather, self.minutes, width, height,
                         self.sky.coverage)
        reply = full_reply(req, width=width, height=height, foreground=foreground["name"],
                           category=foreground["category"])
        if mask_name and self._fault_fires("noisy-mask"):
            reply["mask_pass_diff"] = max(1, width * height // 20)   # something draws into the id passes
        if image:
            path = folder / image
            cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            reply["image"] = str(path)
        if mask_name:
            path = folder / mask_name
            cv2.imwrite(str(path), np.where(mask, 255, 0).astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            reply["mask"] = str(path)
        if self._fault_fires("corrupt-file"):
            for key in ("image", "mask"):
                if reply[key]:
                    Path(reply[key]).write_bytes(b"this is not a PNG file")
        if self._fault_fires("missing-file"):
            reply["image" if reply["image"] else "mask"] = str(folder / "never-written.png")
        reply["ms"] = round(1000 * (time.perf_counter() - start), 3)
        return reply


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unity_bridge.testing.player", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mlagents-port", type=int, required=True, help="port rdh listens on")
    parser.add_argument("-logFile", dest="log_file", type=Path, help="log file (as Unity's -logFile)")
    parser.add_argument("--catalog", type=Path, help="JSON scene catalog (default: two small scenes)")
    parser.add_argument("--fault", choices=FAULTS, default="none")
    parser.add_argument("--fault-after", type=int, default=0, help="captures answered before the fault")
    parser.add_argument("--fault-once", type=Path, help="fire the fault only while this file does not exist")
    parser.add_argument("--address", default="127.0.0.1", help="where rdh listens (Unity uses localhost)")
    parser.add_argument("--connect-wait", type=float, default=30.0)
    parser.add_argument("--controller", default="numpy",
                        help="sky controller it reports (unistorm, directional_light...)")
    parser.add_argument("--sky-layout", choices=LAYOUTS, default="bootstrap",
                        help="where the sky lives: the bootstrap scene, or the content scenes (its system only, or "
                             "its controller too)")
    parser.add_argument("--sky-ready-frames", type=int, default=0,
                        help="frames after connecting (bootstrap) or after each scene load before the sky is ready")
    parser.add_argument("--sky-reseeds", action="store_true",
                        help="the sky draws cloud coverage from the clock and advances its moon at noon (UniStorm)")
    parser.add_argument("--render-pipeline", default="built-in", help="the render pipeline it reports")
    args, _unity_args = parser.parse_known_args(argv)
    catalog = json.loads(args.catalog.read_text()) if args.catalog else DEFAULT_CATALOG
    sky = StandInSky(args.controller, args.sky_layout, args.sky_ready_frames, args.sky_reseeds)
    player = StandInPlayer(args.mlagents_port, catalog, args.fault, args.fault_after, args.fault_once,
                           args.log_file, args.address, args.connect_wait, sky, args.render_pipeline)
    return player.run()


def write_launcher(path: Path, *args: str, python: str | None = None) -> Path:
    """Write an executable script that starts the stand-in player with extra arguments: a
    `--unity-build` for tests and benchmarks (rdh adds --mlagents-port and -logFile)."""
    python = python or sys.executable
    root = Path(__file__).resolve().parents[2]
    quoted = " ".join("'" + str(a).replace("'", "'\\''") + "'" for a in args)
    path.write_text(f"#!/bin/sh\nPYTHONPATH='{root}'${{PYTHONPATH:+:$PYTHONPATH}} exec '{python}' "
                    f"-m unity_bridge.testing.player {quoted} \"$@\"\n")
    path.chmod(0o755)
    return path


if __name__ == "__main__":
    sys.exit(main())
