"""The Unity engine of `rdh render-scenes`: scene plans drawn from what the player lists, captured
through unity_bridge, written to the capture store of DESIGN.md (engine "unity").

Scene `i` of a run has the id `scene_id(i)` and the seed `derive_seed(cfg.seed, i)`, split in two
streams: one draws the layout (Unity scene, viewpoint, foreground; re-drawn while the mask is
empty or outside the --min/max-fg-ratio bounds), the other the time of each style (and the
weather of the night style). Any scene can therefore be rendered alone, by any worker, after
any restart, with the same result.

A worker owns one player on its own port (base port + worker id). It captures the mask once per
scene, then each style: set weather and time, let the sky settle, capture. The player writes
PNG files into `<out>/.unity/staging/w<worker>/`; every file it claims is checked, then the
scene is written whole with `write_scene(..., move_files=True)`. A player that crashes is
restarted (at most --max-restarts times per worker) and its unfinished scene is redone; a
player that does not connect, goes silent or answers with an error stops the run with a
BridgeError. Finished scenes are skipped by a rerun.
"""
from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from datagen.capture_store import style_file, write_scene
from rdhcore.imageio import read_mask
from datagen.render_config import RenderConfig, SceneOutcome, scene_id
from datagen.styles import StyleConfig, format_time, load_style_config, style_by_id
from rdhcore.errors import RdhError
from rdhcore.progress import Progress
from rdhcore.seeds import derive_seed
from unity_bridge.client import PlayerConnection
from unity_bridge.errors import BridgeError, PlayerCrashed, ProtocolError
from unity_bridge.launcher import PlayerSpec
from unity_bridge.protocol import PROTOCOL_VERSION

log = logging.getLogger("rdh.unity")

MAX_LAYOUT_TRIES = 25       # layouts drawn for one scene before it is reported as failed
MASK_FILE = "mask.png"      # staging name of a scene's mask
STATE_DIR = ".unity"        # <out>/.unity/{staging,logs}: never read as scenes


def player_spec(cfg: RenderConfig) -> PlayerSpec:
    """The bridge's options from `rdh render-scenes` options; logs default to <out>/.unity/logs."""
    u = cfg.unity
    return PlayerSpec(build=Path(u.build).expanduser() if u.build else None, editor=u.editor,
                      args=list(u.player_args), log_dir=Path(u.log_dir) if u.log_dir else Path(cfg.out) / STATE_DIR / "logs",
                      base_port=u.base_port, bind_address=u.bind_address, connect_timeout=u.connect_timeout,
                      reply_timeout=u.reply_timeout)


# -- plans --------------------------------------------------------------------------------------
@dataclass
class StylePlan:
    style_id: int
    weather: str        # rdh weather name sent to the player (the sky controller maps it)
    time: str           # HH:MM


@dataclass
class Layout:
    unity_scene: str
    viewpoint: str
    foreground: str
    category: str
    attempts: int       # layouts drawn, this one included
    camera: dict = field(default_factory=dict)


def scene_streams(base_seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator, int]:
    """(layout rng, style rng, integer seed recorded in scene.json) of scene `index`."""
    seq = derive_seed(base_seed, index)
    layout_seq, style_seq = seq.spawn(2)
    return np.random.default_rng(layout_seq), np.random.default_rng(style_seq), int(seq.generate_state(1)[0])


def plan_styles(styles: tuple[int, ...], style_cfg: StyleConfig, rng: np.random.Generator) -> list[StylePlan]:
    """The weather and time of each style of one scene."""
    plans = []
    for sid in styles:
        style = style_by_id(sid)
        minutes = style_cfg.draw_time(sid, rng)
        weather = style.weather if style.weather != "any" else str(style_cfg.weathers[rng.integers(len(style_cfg.weathers))])
        plans.append(StylePlan(sid, weather, format_time(minutes)))
    return plans


class SceneCatalog:
    """What the player offers: for each of its scenes, the viewpoints and the foregrounds of the
    wanted categories. Scenes without both are never drawn."""

    def __init__(self, details: dict[str, dict], categories: tuple[str, ...]) -> None:
        self.details = details            # scene -> {"viewpoints": [{name}], "foregrounds": [{name, category}]}
        self.scenes = [s for s in details if all(self.usable(s, categories))]
        self.categories = categories
        if not self.scenes:
            offered = sorted({f["category"] for d in details.values() for f in d["foregrounds"]})
            raise BridgeError(f"no scene of the player has a viewpoint and a foreground of the categories "
                              f"{','.join(categories)} (it offers: {','.join(offered) or 'none'}): fill the "
                              "ViewpointRegistry and ForegroundRegistry of your scenes, or pass --categories")

    def usable(self, name: str, categories: tuple[str, ...] | None = None) -> tuple[list[str], list[dict]]:
        """(viewpoint names, foregrounds of the wanted categories) of a scene."""
        cats = set(categories if categories is not None else self.categories)
        d = self.details[name]
        return [v["name"] for v in d["viewpoints"]], [f for f in d["foregrounds"] if f["category"] in cats]


# -- one worker ---------------------------------------------------------------------------------
class Worker:
    """One player and the scenes it renders."""

    def __init__(self, run: "UnityRun", worker_id: int) -> None:
        self.run = run
        self.id = worker_id
        self.restarts = 0
        self.redraws = 0                        # of the scene being rendered
        self.player: PlayerConnection | None = None
        self.loaded: str | None = None          # the Unity scene loaded in the current player
        self.staging = Path(run.cfg.out) / STATE_DIR / "staging" / f"w{worker_id}"

    def connect(self) -> PlayerConnection:
        if self.player is None:
            self.loaded = None
            self.player = self.run.register(PlayerConnection(self.run.spec, self.id, self.restarts))
            self.player.open()
            self.run.check_player(self.player, self)
        return self.player

    def disconnect(self, grace: float = 5.0) -> None:
        if self.player is not None:
            player, self.player = self.player, None
            player.close(grace)
            self.run.unregister(player)

    def work(self) -> None:
        run = self.run
        shutil.rmtree(self.staging, ignore_errors=True)
        index = None
        try:
            while not run.stop.is_set():
                index = index if index is not None else run.next_index()
                if index is None:
                    break
                try:
                    self.render_scene(index)
                    index = None
                except PlayerCrashed as exc:
                    self.disconnect(grace=0.0)
                    self.restarts += 1
                    if self.restarts > run.cfg.unity.max_restarts:
                        raise BridgeError(f"{exc}; gave up after {run.cfg.unity.max_restarts} restart(s) "
                                          "(--max-restarts)") from None
                    log.warning("%s; restarting it (%d/%d), scene %s is redone", exc, self.restarts,
                                run.cfg.unity.max_restarts, scene_id(index))
        finally:
            self.disconnect(grace=5.0 if not run.stop.is_set() else 0.0)
            shutil.rmtree(self.staging, ignore_errors=True)

    def render_scene(self, index: int) -> None:
        run = self.run
        cfg = run.cfg
        sid = scene_id(index)
        folder = self.staging / sid
        shutil.rmtree(folder, ignore_errors=True)
        self.redraws = 0
        try:
            player = self.connect()
            layout_rng, style_rng, seed = scene_streams(cfg.seed, index)
            layout, mask_path = self.draw_layout(player, layout_rng, folder, sid)
            if layout is None:
                return
            styles, images = [], {}
            for plan in plan_styles(cfg.styles, run.style_cfg, style_rng):
                applied = player.set_style(plan.weather, plan.time, cfg.unity.settle_frames)
                if applied["weather"] != plan.weather or applied["time"] != plan.time:
                    raise ProtocolError(f"{player.who} applied {applied['weather']!r} at {applied['time']} when asked for "
                                        f"{plan.weather!r} at {plan.time}: check its sky controller")
                shot = player.capture(folder, image=style_file(plan.style_id), width=cfg.resolution,
                                      height=cfg.resolution)
                images[plan.style_id] = shot["image_path"]
                styles.append({"id": plan.style_id, "weather": plan.weather, "time": plan.time,
                               "weather_type": applied["weather_type"],
                               "lighting": {str(v.get("name")): v.get("value") for v in applied["values"]
                                            if isinstance(v, dict)}})
            meta = {
                "scene_id": sid, "engine": "unity", "seed": seed, "styles": styles,
                "foregrounds": [{"id": 0, "category": layout.category, "name": layout.foreground}],
                "camera": {"viewpoint": layout.viewpoint, **layout.camera},
                "source": {"unity_scene": layout.unity_scene, "player": dict(player.info), "protocol": PROTOCOL_VERSION,
                           "run_seed": int(cfg.seed), "index": int(index), "layout_attempts": layout.attempts},
            }
            try:
                write_scene(cfg.out, meta, images, {0: mask_path}, move_files=True)
            except RdhError as exc:  # a file the player wrote is not a usable image or mask
                raise ProtocolError(f"{player.who} wrote a file rdh cannot use: {exc}") from None
            run.finished(SceneOutcome(sid, len(styles), self.redraws))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def draw_layout(self, player: PlayerConnection, rng: np.random.Generator, folder: Path,
                    sid: str) -> tuple[Layout | None, Path | None]:
        """Draw (scene, viewpoint, foreground) until the mask fits the fg-ratio bounds; None when it never does."""
        cfg, catalog = self.run.cfg, self.run.catalog
        for attempt in range(1, MAX_LAYOUT_TRIES + 1):
            name = catalog.scenes[int(rng.integers(len(catalog.scenes)))]
            viewpoints, foregrounds = catalog.usable(name)
            self.load(player, name)
            viewpoint = viewpoints[int(rng.integers(len(viewpoints)))]
            fg = foregrounds[int(rng.integers(len(foregrounds)))]
            camera = player.set_viewpoint(viewpoint)["camera"]
            category = player.set_foreground(fg["name"])["category"]
            shot = player.capture(folder, mask=MASK_FILE, width=cfg.resolution, height=cfg.resolution)
            try:
                ratio = float(read_mask(shot["mask_path"]).mean())
            except RdhError as exc:
                raise ProtocolError(f"{player.who} wrote a mask rdh cannot use: {exc}") from None
            if ratio > 0 and cfg.min_fg_ratio <= ratio <= cfg.max_fg_ratio:
                return Layout(name, viewpoint, fg["name"], category or fg["category"], attempt, camera), shot["mask_path"]
            self.redraws += 1
        self.run.failed(sid, self.redraws, f"no layout with a foreground covering {cfg.min_fg_ratio:g}..{cfg.max_fg_ratio:g} "
                        f"of the image in {MAX_LAYOUT_TRIES} draws")
        return None, None

    def load(self, player: PlayerConnection, name: str) -> None:
        if self.loaded != name:
            player.load_scene(name)
            self.loaded = name


# -- the run ------------------------------------------------------------------------------------
class UnityRun:
    """Shared state of the workers: the queue of scene indices, their outcomes, the live players."""

    def __init__(self, cfg: RenderConfig, style_cfg: StyleConfig, progress: Progress, todo: list[int]) -> None:
        self.cfg = cfg
        self.spec = player_spec(cfg)
        self.style_cfg = style_cfg
        self.progress = progress
        self.queue = deque(todo)
        self.outcomes: queue.Queue[SceneOutcome] = queue.Queue()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.players: set[PlayerConnection] = set()
        self.catalog: SceneCatalog | None = None
        self.errors: list[BaseException] = []

    def next_index(self) -> int | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def check_player(self, player: PlayerConnection, worker: Worker) -> None:
        """The first player describes its scenes (loading each once) into the catalog; every other
        player must list the same scenes."""
        scenes = player.list_scenes()
        with self.lock:
            if self.catalog is None:
                details = {}
                for name in scenes:
                    reply = player.load_scene(name)
                    worker.loaded = name
                    details[name] = {"viewpoints": reply["viewpoints"], "foregrounds": reply["foregrounds"]}
                self.catalog = SceneCatalog(details, self.cfg.categories)
            elif scenes != list(self.catalog.details):
                raise ProtocolError(f"{player.who} lists other scenes than the first player "
                                    f"({scenes} vs {list(self.catalog.details)}): run one build for all workers")

    def register(self, player: PlayerConnection) -> PlayerConnection:
        with self.lock:
            self.players.add(player)
        return player

    def unregister(self, player: PlayerConnection) -> None:
        with self.lock:
            self.players.discard(player)

    def finished(self, outcome: SceneOutcome) -> None:
        with self.lock:
            self.progress(outcome.images)
        self.outcomes.put(outcome)

    def failed(self, sid: str, redraws: int, reason: str) -> None:
        self.outcomes.put(SceneOutcome(sid, redraws=redraws, error=reason))

    def run_worker(self, worker_id: int) -> None:
        try:
            Worker(self, worker_id).work()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            with self.lock:
                self.errors.append(exc)
            self.stop.set()

    def kill_players(self) -> None:
        with self.lock:
            players = list(self.players)
        for player in players:
            player.close(grace=0.0)


class UnityEngine:
    """Unity players driven through unity_bridge, one per worker, each pulling scene indices."""

    def __init__(self, cfg: RenderConfig) -> None:
        self.cfg = cfg
        self.style_cfg = StyleConfig()

    def open(self) -> str:
        cfg = self.cfg
        player_spec(cfg).check(cfg.workers)
        if cfg.unity.max_restarts < 0:
            raise RdhError(f"--max-restarts {cfg.unity.max_restarts}: use 0 or more")
        if cfg.unity.settle_frames < 0:
            raise RdhError(f"--settle-frames {cfg.unity.settle_frames}: use 0 or more")
        self.style_cfg = load_style_config(cfg.styles_file) if cfg.styles_file else StyleConfig()
        missing = {style_by_id(s).weather for s in cfg.styles} - {"any"} - set(self.style_cfg.weathers)
        if missing:
            raise RdhError(f"{cfg.styles_file}: its weathers leave out {sorted(missing)}, which --styles needs")
        return "unity"

    def render(self, todo: list[int], progress: Progress):
        """Run min(workers, scenes) players in threads; yield each scene's outcome as it lands."""
        cfg = self.cfg
        run = UnityRun(cfg, self.style_cfg, progress, todo)
        Path(cfg.out).mkdir(parents=True, exist_ok=True)
        threads = [threading.Thread(target=run.run_worker, args=(w,), name=f"rdh-unity-worker-{w}", daemon=True)
                   for w in range(min(cfg.workers, len(todo)))]
        try:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads) or not run.outcomes.empty():
                try:
                    yield run.outcomes.get(timeout=0.2)
                except queue.Empty:
                    pass
        except BaseException:
            run.stop.set()
            run.kill_players()
            for t in threads:
                t.join(timeout=10)
            raise
        if run.errors:
            first = next((e for e in run.errors if not isinstance(e, PlayerCrashed)), run.errors[0])
            raise first

    def task(self):
        raise RdhError("the Unity engine has no per-scene task: use --executor local")
