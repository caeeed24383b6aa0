"""Where a player comes from: a build this bridge launches, or a Unity Editor it waits for.

`PlayerSpec` holds the options (the render engine builds it from `rdh render-scenes --unity-*`);
`PlayerProcess` is one launched build: its command line, its log files, a liveness check
that turns an exit into `PlayerCrashed` with the last lines of its log, and a clean stop.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from unity_bridge.errors import BridgeError, PlayerCrashed, PlayerLaunchError
from unity_bridge.ports import DEFAULT_BASE_PORT, EDITOR_PORT, LOOPBACK, grpc_address, is_loopback, worker_port

log = logging.getLogger("unity_bridge")

PORT_ARG = "--mlagents-port"  # read by ML-Agents' Academy in the player


@dataclass
class PlayerSpec:
    """How to reach players: a build to launch (one per worker) or the Editor to attach to."""

    build: Path | None = None            # player executable (Linux .x86_64, macOS .app, Windows .exe)
    editor: bool = False                 # attach to an Editor in Play mode (port 5004, one worker)
    args: list[str] = field(default_factory=list)  # extra player arguments
    log_dir: Path | None = None          # player-<worker>.log files go here
    base_port: int = DEFAULT_BASE_PORT   # worker w listens on base_port + w
    bind_address: str = LOOPBACK         # only a remote player needs another address
    connect_timeout: float = 60.0
    reply_timeout: float = 60.0

    def check(self, workers: int = 1) -> None:
        """BridgeError naming the option when the spec cannot work."""
        if self.editor and self.build is not None:
            raise BridgeError("--unity-build and --unity-editor exclude each other: launch a build or attach to the Editor")
        if not self.editor and self.build is None:
            raise BridgeError("--engine unity needs --unity-build PATH (a player build) or --unity-editor "
                              "(an Editor in Play mode)")
        if self.editor and workers != 1:
            raise BridgeError(f"--unity-editor attaches to one Editor: use --workers 1 (got {workers})")
        if not (1 <= self.base_port and self.base_port + workers - 1 <= 65535):
            raise BridgeError(f"--base-port {self.base_port}: ports {self.base_port}..{self.base_port + workers - 1} "
                              "must lie in 1..65535")
        if self.connect_timeout <= 0 or self.reply_timeout <= 0:
            raise BridgeError("--connect-timeout and --reply-timeout must be positive seconds")
        if self.build is not None:
            resolve_executable(self.build)

    def port(self, worker: int) -> int:
        return EDITOR_PORT if self.editor else worker_port(self.base_port, worker)

    def who(self, worker: int) -> str:
        where = grpc_address(self.bind_address, self.port(worker))
        return f"the Unity Editor on {where}" if self.editor else f"the Unity player of worker {worker} on {where}"

    def warn_if_exposed(self) -> None:
        if not is_loopback(self.bind_address):
            log.warning("listening on %s: any machine that can reach this address can connect as the player "
                        "(the ML-Agents protocol has no authentication); use it only on a trusted network",
                        self.bind_address)


def resolve_executable(build: Path) -> Path:
    """The file to execute for a build path (a macOS .app bundle resolves to its binary)."""
    build = Path(build).expanduser()
    if build.is_dir() and build.suffix == ".app":
        binaries = sorted((build / "Contents" / "MacOS").glob("*"))
        if binaries:
            build = binaries[0]
    if not build.is_file():
        raise PlayerLaunchError(f"--unity-build {build}: no such player executable: pass the built player file "
                                "(e.g. MyScenes.x86_64)")
    if not os.access(build, os.X_OK):
        raise PlayerLaunchError(f"--unity-build {build}: not executable: run chmod +x {build}")
    check_build_files(build)
    return build


def player_data_dir(exe: Path) -> Path | None:
    """The data folder Unity builds next to a player executable (Linux/Windows `<name>_Data`,
    macOS `Contents/Resources/Data`), or None when there is none (not a Unity build)."""
    exe = Path(exe)
    candidates = [exe.with_name(f"{exe.stem}_Data"), exe.with_name(f"{exe.name}_Data")]
    if exe.parent.name == "MacOS" and exe.parent.parent.name == "Contents":
        candidates.insert(0, exe.parent.parent / "Resources" / "Data")
    return next((c for c in candidates if c.is_dir()), None)


def check_build_files(exe: Path) -> None:
    """PlayerLaunchError, before launch, for a build that cannot talk to rdh: an IL2CPP build (ML-Agents
    needs the Mono backend), or a Mono build without ML-Agents or without the rdh package."""
    exe = Path(exe)
    data = player_data_dir(exe)
    if data is None:
        return  # not laid out as a Unity build (a wrapper script, the stand-in player): nothing to check
    managed = data / "Managed"
    il2cpp = [p for p in (data / "il2cpp_data", exe.parent / "GameAssembly.so", exe.parent / "GameAssembly.dll",
                          exe.parent.parent / "Frameworks" / "GameAssembly.dylib") if p.exists()]
    if il2cpp and not managed.is_dir():
        raise PlayerLaunchError(f"--unity-build {exe} is an IL2CPP build ({il2cpp[0].name} and no {managed.name}/ "
                                f"in {data.name}): ML-Agents connects to Python only from Mono builds; set Project "
                                "Settings > Player > Other Settings > Scripting Backend to Mono and build again")
    if managed.is_dir():
        for dll, what in (("Unity.ML-Agents.dll", "ML-Agents (add the package com.unity.ml-agents)"),
                          ("Rdh.Capture.dll", "the rdh package (add unity_bridge/unity as com.rdh.capture)")):
            if not (managed / dll).is_file():
                raise PlayerLaunchError(f"--unity-build {exe}: the build has no {dll} in {managed}, so it lacks "
                                        f"{what}: add it and build again")


def _has_log_arg(args: list[str]) -> bool:
    return any(a.lower() == "-logfile" for a in args)


class PlayerProcess:
    """A launched player build."""

    def __init__(self, command: list[str], log_path: Path, output_path: Path, who: str) -> None:
        self.command = command
        self.log_path = log_path        # the player's own log (-logFile)
        self.output_path = output_path  # its stdout and stderr
        self.who = who
        output_path.parent.mkdir(parents=True, exist_ok=True)
        with open(output_path, "ab") as output:
            try:
                # A new session: Ctrl-C in the terminal reaches rdh, which then stops the player cleanly.
                self.popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                              stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as exc:
                raise PlayerLaunchError(f"cannot start {command[0]}: {exc.strerror or exc}: check --unity-build") from None
        _live.add(self)

    @classmethod
    def launch(cls, spec: PlayerSpec, worker: int, port: int, log_dir: Path, attempt: int = 0) -> "PlayerProcess":
        exe = resolve_executable(spec.build)
        stem = f"player-{worker}" + (f".restart{attempt}" if attempt else "")
        log_path = Path(log_dir) / f"{stem}.log"
        command = [str(exe), PORT_ARG, str(port)]
        if not _has_log_arg(spec.args):
            command += ["-logFile", str(log_path)]
        command += [str(a) for a in spec.args]
        return cls(command, log_path, Path(log_dir) / f"{stem}.stdout.log", spec.who(worker))

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def check_alive(self) -> None:
        """PlayerCrashed when the process has exited."""
        code = self.popen.poll()
        if code is None:
            return
        if code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with code {code}"
        tail = self.log_tail()
        raise PlayerCrashed(f"{self.who} {how}" + (f"; its log ends: {tail}" if tail else "")
                            + f" (logs: {self.log_path.parent})")

    def log_tail(self, lines: int = 3, width: int = 300) -> str:
        """The last non-empty lines of its log (or of its output), joined on one line."""
        for path in (self.log_path, self.output_path):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            kept = [l.strip() for l in text.splitlines() if l.strip()][-lines:]
            if kept:
                return " | ".join(kept)[-width:]
        return ""

    def stop(self, grace: float = 5.0) -> None:
        """Wait up to `grace` seconds for a clean exit, then terminate, then kill."""
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        _live.discard(self)


_live: set[PlayerProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _kill_leftovers() -> None:
    """No player outlives rdh, whatever way it ends."""
    with _live_lock:
        for proc in list(_live):
            if proc.popen.poll() is None:
                proc.popen.kill()
