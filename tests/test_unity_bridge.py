"""The Unity bridge against the stand-in player, over real gRPC on loopback.

The player is launched through the bridge's own launcher (a --unity-build script), answers
the capture protocol with numpy frames, and misbehaves on request.
"""
import ipaddress
import json
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():  # mlagents_envs' generated protobuf modules use deprecated calls
    warnings.simplefilter("ignore", DeprecationWarning)
    pytest.importorskip("mlagents_envs.environment", reason="the rdh[unity] extra is not installed "
                        "(mlagents-envs 0.28.0 needs Python < 3.12)")

from rdhcore.imageio import read_mask, read_rgb
from unity_bridge.client import PlayerConnection
from unity_bridge.errors import (BridgeError, PlayerCrashed, PlayerLaunchError, PlayerNotConnected,
                                 PlayerReportedError, PlayerTimeout, PlayerWithoutChannel, ProtocolError)
from unity_bridge.launcher import PlayerSpec
from unity_bridge.ports import find_free_base_port, grpc_address, is_loopback
from unity_bridge.protocol import (CHANNEL_ID, PROTOCOL_VERSION, REQUEST_FIELDS, check_reply, decode_message,
                                   encode_request)
from unity_bridge.testing.frames import DEFAULT_CATALOG, draw, lighting
from unity_bridge.testing.player import pack_side_channel, unpack_side_channel, write_launcher


pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # slow: Unity players


def spec_for(tmp_path: Path, *player_args: str, connect_timeout: float = 60.0, reply_timeout: float = 60.0,
             build: Path | None = None) -> PlayerSpec:
    # generous limits: a stand-in player starting in a new venv on 2 busy cores once took over 15 s to answer;
    # the tests of the timeouts themselves set short ones
    build = build or write_launcher(tmp_path / "player.sh")
    return PlayerSpec(build=build, args=list(player_args), log_dir=tmp_path / "logs",
                      base_port=find_free_base_port(1), connect_timeout=connect_timeout, reply_timeout=reply_timeout)


def catalog_entry(scene: str, kind: str, name: str) -> dict:
    s = next(s for s in DEFAULT_CATALOG["scenes"] if s["name"] == scene)
    return next(x for x in s[kind] if x["name"] == name)


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses of the LISTEN sockets on a port, from /proc/net/tcp{,6} (Linux)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                # the kernel prints each 32-bit word of the address in host (little-endian) order
                raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, len(addr), 8))
                ip = ipaddress.ip_address(raw)
                found.add(ip.ipv4_mapped or ip if ip.version == 6 else ip)
    return found


# -- the protocol itself ---------------------------------------------------------------------------
def test_messages_round_trip_and_are_checked():
    data = encode_request(7, "set_style", {"weather": "Cloudy", "time": "06:35", "settle_frames": 5})
    msg = decode_message(data)
    assert msg == {"v": PROTOCOL_VERSION, "id": 7, "op": "set_style", "weather": "Cloudy", "time": "06:35",
                   "settle_frames": 5}
    with pytest.raises(ValueError):
        encode_request(1, "teleport", {})
    with pytest.raises(ValueError):
        encode_request(1, "capture", {"colour": "red"})
    assert set(REQUEST_FIELDS) == {"hello", "ping", "list_scenes", "load_scene", "set_viewpoint", "set_foreground",
                                   "set_style", "capture"}
    with pytest.raises(ProtocolError, match="version 1, this rdh speaks 3"):
        decode_message(json.dumps({"v": 1, "id": 1, "op": "hello"}).encode())
    with pytest.raises(ProtocolError, match="not UTF-8 JSON"):
        decode_message(b"\xff{")
    ok = {"v": 3, "id": 3, "op": "set_foreground", "ok": True, "foreground": "Walker", "category": "human"}
    assert check_reply(ok, "set_foreground")["category"] == "human"
    with pytest.raises(ProtocolError, match="as if it were"):
        check_reply(ok, "set_viewpoint")
    with pytest.raises(ProtocolError, match="'category'"):
        check_reply({**ok, "category": 3}, "set_foreground")
    with pytest.raises(PlayerReportedError, match="no such object"):
        check_reply({**ok, "ok": False, "error": "no such object"}, "set_foreground")


def test_side_channel_framing_matches_mlagents():
    from mlagents_envs.side_channel.side_channel_manager import SideChannelManager

    from unity_bridge.channel import CaptureChannel

    channel = CaptureChannel()
    first = channel.send("ping", {})
    second = channel.send("list_scenes", {})
    framed = bytes(SideChannelManager([channel]).generate_side_channel_messages())
    parts = unpack_side_channel(framed)   # what the stand-in (and Unity) read
    assert [c for c, _ in parts] == [CHANNEL_ID, CHANNEL_ID]
    assert [json.loads(d)["id"] for _, d in parts] == [first, second]
    reply = json.dumps({"v": PROTOCOL_VERSION, "id": second, "op": "list_scenes", "ok": True, "scenes": ["a"]}).encode()
    SideChannelManager([channel]).process_side_channel_message(pack_side_channel([reply]))
    assert channel.take_reply(first) is None
    assert channel.take_reply(second)["scenes"] == ["a"]
    assert channel.take_reply(second) is None


def test_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert grpc_address("::1", 5005) == "[::1]:5005" and grpc_address("127.0.0.1", 5005) == "127.0.0.1:5005"


# -- a well-behaved player -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def player(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("player")
    spec = spec_for(tmp)
    with PlayerConnection(spec) as conn:
        yield conn


def test_player_listens_on_loopback_only(player):
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to inspect listening sockets")
    addresses = listening_addresses(player.port)
    assert addresses == {ipaddress.ip_address("127.0.0.1")}   # nothing on 0.0.0.0 or [::]


def test_capture_round_trip_gives_exact_frames(player, tmp_path):
    assert player.info["weather_types"] == ["Clear", "Partly Cloudy", "Cloudy", "Rain"]
    assert player.list_scenes() == ["Street", "Pasture"]
    scene = player.load_scene("Street")
    assert [f["category"] for f in scene["foregrounds"]] == ["human", "motorcycle", "bottle"]
    assert player.set_viewpoint("crossing")["camera"]["fov"] == 60.0
    assert player.set_foreground("Walker")["category"] == "human"
    applied = player.set_style("Partly Cloudy", "07:45", settle_frames=4)
    assert (applied["weather"], applied["time"]) == ("Partly Cloudy", "07:45")
    assert {v["name"]: v["value"] for v in applied["values"]} == lighting("Partly Cloudy", 7 * 60 + 45)
    steps = player.steps
    shot = player.capture(tmp_path / "stage", image="05.png", mask="fg_0.png", width=48, height=40)
    assert player.steps - steps == 1                 # answered in the next frame
    rgb, mask = draw("Street", catalog_entry("Street", "viewpoints", "crossing"),
                     catalog_entry("Street", "foregrounds", "Walker"), "Partly Cloudy", 7 * 60 + 45, 48, 40)
    assert np.array_equal(read_rgb(shot["image_path"]), rgb)
    assert np.array_equal(read_mask(shot["mask_path"]), mask)
    assert 0.02 < mask.mean() < 0.5
    assert shot["image_path"].parent == (tmp_path / "stage").resolve()


def test_settle_frames_delay_the_reply(player):
    player.load_scene("Pasture")
    steps = player.steps
    player.set_style("Clear", "12:00", settle_frames=6)
    assert player.steps - steps == 1 + 6             # the frame it is applied in, then 6 more


def test_player_errors_are_reported_with_their_message(player):
    with pytest.raises(PlayerReportedError, match="no scene named 'Moon'"):
        player.load_scene("Moon")
    with pytest.raises(PlayerReportedError, match="no weather type named 'Fog'"):
        player.set_style("Fog", "12:00", 1)
    player.ping()                                    # still usable afterwards


# -- misbehaving players ---------------------------------------------------------------------------
def test_player_that_never_connects_is_stopped_after_the_connect_timeout(tmp_path):
    spec = spec_for(tmp_path, "--fault", "no-connect", connect_timeout=1.5)
    conn = PlayerConnection(spec)
    with pytest.raises(PlayerNotConnected, match=r"did not connect within 1.5 s \(--connect-timeout\)") as err:
        conn.open()
    assert str(spec.log_dir) in str(err.value)
    assert conn.env is None and "\n" not in str(err.value)
    assert not listening_addresses(spec.port(0))     # the server is closed too


def test_player_that_goes_silent_is_stopped_after_the_reply_timeout(tmp_path):
    spec = spec_for(tmp_path, "--fault", "hang", reply_timeout=2.0)
    with PlayerConnection(spec) as conn:
        conn.load_scene("Street")
        conn.set_viewpoint("corner")
        conn.set_foreground("Walker")
        process = conn.process
        with pytest.raises(PlayerTimeout, match=r"stopped answering: no reply within 2 s \(--reply-timeout\)"):
            conn.capture(tmp_path / "stage", image="01.png", width=32, height=32)
    assert process.returncode is not None            # killed, not left behind


def test_player_that_keeps_running_but_never_answers_times_out(tmp_path):
    spec = spec_for(tmp_path, "--fault", "mute", reply_timeout=2.0)
    with PlayerConnection(spec) as conn:
        conn.load_scene("Street")
        with pytest.raises(PlayerTimeout, match="did not answer capture within 2 s"):
            conn.capture(tmp_path / "stage", image="01.png", width=32, height=32)
        assert conn.steps > 10                       # it kept exchanging frames all along


def test_player_that_claims_a_missing_file(tmp_path):
    spec = spec_for(tmp_path, "--fault", "missing-file")
    with PlayerConnection(spec) as conn:
        conn.load_scene("Street")
        conn.set_viewpoint("corner")
        conn.set_foreground("Walker")
        with pytest.raises(ProtocolError, match="never-written.png, which does not exist"):
            conn.capture(tmp_path / "stage", image="01.png", width=32, height=32)


def test_player_answering_with_an_error(tmp_path):
    spec = spec_for(tmp_path, "--fault", "error", "--fault-after", "1")
    with PlayerConnection(spec) as conn:
        conn.load_scene("Street")
        conn.set_viewpoint("corner")
        conn.set_foreground("Walker")
        conn.capture(tmp_path / "stage", mask="m.png", width=32, height=32)
        with pytest.raises(PlayerReportedError, match="answered capture with an error: simulated render failure"):
            conn.capture(tmp_path / "stage", image="01.png", width=32, height=32)


def test_player_crash_is_detected_at_once_with_its_log(tmp_path):
    spec = spec_for(tmp_path, "--fault", "crash", reply_timeout=60.0)
    with PlayerConnection(spec) as conn:
        conn.load_scene("Street")
        with pytest.raises(PlayerCrashed, match="exited with code 3; its log ends: .*fault crash: exiting") as err:
            conn.capture(tmp_path / "stage", image="01.png", width=32, height=32)
    assert "\n" not in str(err.value)


def test_player_with_another_protocol_version(tmp_path):
    spec = spec_for(tmp_path, "--fault", "bad-version")
    with pytest.raises(ProtocolError, match="version 4, this rdh speaks 'rdh-capture' version 3"):
        PlayerConnection(spec).open()


def test_a_player_of_package_0_2_0_is_refused_with_both_versions(tmp_path):
    spec = spec_for(tmp_path, "--fault", "old-player")
    with pytest.raises(ProtocolError, match=r"speaks capture protocol version 2, this rdh speaks 3: install the rdh "
                                            r"Unity package from this rdh's unity_bridge/unity") as err:
        PlayerConnection(spec).open()
    assert "\n" not in str(err.value)


def test_a_failed_mask_self_check_stops_at_the_handshake_naming_the_cause(tmp_path):
    spec = spec_for(tmp_path, "--fault", "mask-check")
    with pytest.raises(PlayerReportedError, match=r"answered hello with an error: mask self-check failed \(URP: .*\): "
                                                  r".*700 of 700 background pixels were not the background id 0: "
                                                  r"something draws over the id target .*a renderer feature \(fog"):
        PlayerConnection(spec).open()


def test_build_that_exits_before_connecting_is_reported_without_waiting(tmp_path):
    build = tmp_path / "broken.x86_64"
    build.write_text("#!/bin/sh\necho 'Missing shared library libGL.so.1' >&2\nexit 1\n")
    build.chmod(0o755)
    spec = spec_for(tmp_path, build=build, connect_timeout=60.0)
    with pytest.raises(PlayerCrashed, match="exited with code 1; its log ends: Missing shared library"):
        PlayerConnection(spec).open()


def test_launch_problems_name_the_option(tmp_path):
    with pytest.raises(PlayerLaunchError, match="--unity-build .*no such player executable"):
        PlayerConnection(spec_for(tmp_path, build=tmp_path / "nope.x86_64")).open()
    not_exec = tmp_path / "City.x86_64"
    not_exec.write_text("")
    with pytest.raises(PlayerLaunchError, match="not executable: run chmod"):
        PlayerConnection(spec_for(tmp_path, build=not_exec)).open()
    spec = spec_for(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", spec.base_port))
        busy.listen()
        with pytest.raises(PlayerLaunchError, match="is in use"):
            PlayerConnection(spec).open()
    with pytest.raises(BridgeError, match="--unity-editor attaches to one Editor"):
        PlayerSpec(editor=True).check(workers=2)
    with pytest.raises(BridgeError, match="needs --unity-build PATH"):
        PlayerSpec().check()


# -- the stand-in follows the C# agent's rules -----------------------------------------------------
def test_every_reply_carries_every_protocol_field(player, tmp_path):
    from unity_bridge.protocol import REPLY_DEFAULTS

    replies = [player.request("ping"), player.request("list_scenes"), player.load_scene("Street"),
               player.set_viewpoint("corner"), player.set_foreground("Walker"),
               player.set_style("Clear", "12:00", 1),
               player.capture(tmp_path / "s", image="a.png", width=16, height=16)]
    for reply in replies:
        assert set(REPLY_DEFAULTS) <= set(reply), reply["op"]
    assert replies[2]["paused"] is True and replies[2]["controller"] == "numpy"
    assert player.info["package_version"] == "0.3.0"         # of the rdh package, not of ML-Agents
    assert replies[5]["frames"] >= 1 and replies[5]["seconds"] >= 0


def test_capture_folder_must_be_absolute_and_names_plain(player, tmp_path):
    player.load_scene("Street")
    player.set_viewpoint("corner")
    player.set_foreground("Walker")
    with pytest.raises(PlayerReportedError, match="capture folder 'staging/w0' is not an absolute path"):
        player.request("capture", folder="staging/w0", image="a.png", mask="", width=16, height=16)
    for name in ("../a.png", "sub/a.png", "a\\b.png", ".."):
        with pytest.raises(PlayerReportedError, match="must be a plain file name, without a folder"):
            player.request("capture", folder=str(tmp_path), image=name, mask="", width=16, height=16)
    assert list(tmp_path.iterdir()) == []                    # nothing written for a refused request
    player.ping()


def test_settle_seconds_hold_the_reply(player):
    reply = player.set_style("Cloudy", "09:30", settle_frames=1, settle_seconds=0.3)
    assert reply["seconds"] >= 0.3 and reply["frames"] >= 1


def test_hello_answers_at_once_and_load_scene_waits_for_the_sky(tmp_path):
    with PlayerConnection(spec_for(tmp_path, "--sky-ready-frames", "25")) as conn:
        assert conn.steps <= 3                               # not held back by a sky that is late
        assert (conn.info["sky"], conn.info["weather_types"], conn.info["controller"]) == ("pending", [], "numpy")
        assert conn.info["render_pipeline"] == "built-in" and conn.info["mask_check"].endswith("read back exactly")
        scene = conn.load_scene("Street")
        assert conn.steps >= 24                              # load_scene waited for the sky
        assert scene["sky"] == "ready" and scene["weather_types"] == ["Clear", "Partly Cloudy", "Cloudy", "Rain"]


@pytest.mark.parametrize("layout, controller", [("scene-sky", "unistorm"), ("scene-controller", "none")])
def test_a_sky_that_comes_with_the_content_scenes(tmp_path, layout, controller):
    # UniStorm in each content scene, its controller on the bootstrap object (scene-sky) or in the scenes too:
    # hello cannot wait for it (it is not there yet) and answers with its state; each load waits for it anew.
    spec = spec_for(tmp_path, "--controller", "unistorm", "--sky-layout", layout, "--sky-ready-frames", "12")
    with PlayerConnection(spec) as conn:
        state = "pending" if controller != "none" else "none"
        assert (conn.info["controller"], conn.info["sky"], conn.info["weather_types"]) == (controller, state, [])
        with pytest.raises(PlayerReportedError, match="sky is not ready: load_scene first"):
            conn.set_style("Clear", "12:00", 1)
        for name in ("Street", "Pasture"):
            steps = conn.steps
            scene = conn.load_scene(name)
            assert conn.steps - steps >= 12                  # the new scene's sky initialized first
            assert (scene["controller"], scene["sky"]) == ("unistorm", "ready") and scene["weather_types"]
        assert conn.set_style("Cloudy", "12:00", 1)["weather_type"] == "Cloudy"


def test_the_hello_reply_of_the_documented_layout(tmp_path):
    from tests.doc_blocks import doc_block

    documented = json.loads(doc_block("docs/unity.md", "hello reply"))
    spec = spec_for(tmp_path, "--controller", "unistorm", "--sky-layout", "scene-sky", "--sky-ready-frames", "5")
    with PlayerConnection(spec) as conn:
        reply = conn.hello()
    same = ("v", "op", "ok", "error", "protocol", "version", "package_version", "controller", "sky", "weather_types")
    assert {k: reply[k] for k in same} == {k: documented[k] for k in same}


def test_unreadable_request_is_answered_with_its_error(player):
    from mlagents_envs.side_channel import OutgoingMessage

    msg = OutgoingMessage()
    msg.set_raw_bytes(bytearray(b'{"v": 2, "id": 999, "op": "ping", broken'))
    player.channel.queue_message_to_send(msg)
    with pytest.raises(PlayerReportedError, match=r"request rdh did not send \(id 999, while waiting for ping\): "
                                                  "the player could not read request"):
        player.ping()
    player.ping()                                            # the player serves on


def test_player_that_never_registers_the_channel(tmp_path):
    spec = spec_for(tmp_path, "--fault", "no-channel", reply_timeout=2.0)
    with pytest.raises(PlayerWithoutChannel, match=r"stepped \d+ frames, but never answered the rdh handshake on "
                                                   r"the capture side channel 819f11f0-.*put a CaptureAgent") as err:
        PlayerConnection(spec).open()
    assert str(spec.log_dir) in str(err.value) and "\n" not in str(err.value)


# -- builds that cannot work, caught before launch -------------------------------------------------
def fake_build(tmp_path: Path, *files: str) -> Path:
    exe = tmp_path / "City.x86_64"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    for name in files:
        path = tmp_path / name
        if name.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    return exe


def test_il2cpp_build_is_refused_before_launch(tmp_path):
    exe = fake_build(tmp_path, "GameAssembly.so", "City_Data/il2cpp_data/", "City_Data/Resources/")
    with pytest.raises(PlayerLaunchError, match=r"is an IL2CPP build \(il2cpp_data and no Managed/ in City_Data\): "
                                                "ML-Agents connects to Python only from Mono builds; .*Scripting "
                                                "Backend to Mono"):
        PlayerSpec(build=exe).check()


def test_mono_build_without_ml_agents_or_rdh_is_refused(tmp_path):
    exe = fake_build(tmp_path, "City_Data/Managed/Assembly-CSharp.dll")
    with pytest.raises(PlayerLaunchError, match="no Unity.ML-Agents.dll in .*com.unity.ml-agents"):
        PlayerSpec(build=exe).check()
    (tmp_path / "City_Data" / "Managed" / "Unity.ML-Agents.dll").write_bytes(b"x")
    with pytest.raises(PlayerLaunchError, match="no Rdh.Capture.dll in .*the rdh package"):
        PlayerSpec(build=exe).check()
    (tmp_path / "City_Data" / "Managed" / "Rdh.Capture.dll").write_bytes(b"x")
    PlayerSpec(build=exe).check()                            # a complete Mono build passes


def test_cli_il2cpp_build_gives_one_error_line(tmp_path):
    from tests.cli import error_line, rdh_process

    exe = fake_build(tmp_path, "GameAssembly.so", "City_Data/il2cpp_data/")
    proc = rdh_process("render-scenes", tmp_path / "out", "--engine", "unity", "--unity-build", exe, timeout=60)
    line = error_line(proc)
    assert proc.returncode == 2 and line.startswith("rdh: error: --unity-build ") and "IL2CPP build" in line
    assert not (tmp_path / "out").exists()
