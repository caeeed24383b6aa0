"""The Unity engine of `rdh render-scenes`: scene plans drawn from what the player lists, captured
through unity_bridge, written to the capture store of docs/design.md (engine "unity").

Scene `i` of a run has the id `scene_id(i)` and the seed `derive_seed(cfg.seed, i)`, split in
three streams: one draws the layout (Unity scene, viewpoint, foreground; re-drawn while the mask
is empty or outside the --min/max-fg-ratio bounds), one the time of each style (and the weather
of the night style), one the seed the player gives the sky for each style. Any scene can
therefore be rendered alone, by any worker, after any restart, with the same result.

A worker owns one player on its own port (base port + worker id). The player pauses each scene
it loads (animation, physics, particles) for the whole capture. Per scene the worker draws a
layout from a first mask, then for each style sets weather and time, lets the sky settle (at
least --settle-frames frames and --settle-seconds seconds, and until the sky reports the
style), and captures the image and the mask again. Each style's mask is compared with the
layout's: the differences are recorded in scene.json, and a scene whose foreground moved by
more than --mask-tolerance of its pixels is refused, as is one whose mask's two id passes
disagree on more pixels than that (something other than the foreground draws into them). The
stored mask is the pixels that are foreground in every style. The player checks its own mask
pass at the handshake and after each scene load; a failed check stops the run with its diagnosis. The player writes PNG files into
`<out>/.unity/staging/w<worker>/`; every file it claims is checked, then the scene is written
whole with `write_scene(..., move_files=True)`. A player that crashes is restarted (at most
--max-restarts times per worker) and its unfinished scene is redone; a player that does not
connect, goes silent or answers with an error stops the run with a BridgeError. Finished
scenes are skipped by a rerun.
"""
from __future__ import annotations

import logging
import queue
import shutil
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from datagen.capture_store import style_file, write_scene
from rdhcore.imageio import read_mask
from datagen.render_config import RenderConfig, SceneOutcome, UnityOptions, scene_id
from datagen.styles import StyleConfig, format_time, load_style_config, style_by_id
from rdhcore.errors import RdhError
from rdhcore.options import default_of
from rdhcore.progress import Progress
from rdhcore.seeds import derive_seed
from unity_bridge.errors import BridgeError, PlayerCrashed, PlayerExitedEarly, ProtocolError
from unity_bridge.extra import require_unity_extra
from unity_bridge.launcher import PlayerSpec
from unity_bridge.protocol import PROTOCOL_VERSION

if TYPE_CHECKING:  # mlagents_envs, which the connection needs, is an optional extra: imported in connect()
    from unity_bridge.client import PlayerConnection

log = logging.getLogger("rdh.unity")

MAX_LAYOUT_TRIES = 25       # layouts drawn for one scene before it is reported as failed
MASK_FILE = "mask.png"      # staging name of a scene's layout mask
UNISTORM_MIN_SETTLE_FRAMES = 17   # UniStorm redraws its clouds over 16 frames: fewer show the previous weather
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
    sky_seed: int = 0   # UnityEngine.Random's seed once the style is applied


@dataclass
class Layout:
    unity_scene: str
    viewpoint: str
    foreground: str
    category: str
    attempts: int       # layouts drawn, this one included
    camera: dict = field(default_factory=dict)
    paused: bool = False  # the player froze the scene's animation, physics and particles
    pass_diff: int = 0    # pixels the two id passes of the layout's mask disagree on


def scene_streams(base_seed: int, index: int) -> tuple[np.random.Generator, np.random.Generator, int,
                                                       np.random.Generator]:
    """(layout rng, style rng, integer seed recorded in scene.json, sky-seed rng) of scene `index`."""
    seq = derive_seed(base_seed, index)
    layout_seq, style_seq, sky_seq = seq.spawn(3)   # the first two are those of spawn(2): older scenes keep their plans
    return (np.random.default_rng(layout_seq), np.random.default_rng(style_seq), int(seq.generate_state(1)[0]),
            np.random.default_rng(sky_seq))


def plan_styles(styles: tuple[int, ...], style_cfg: StyleConfig, rng: np.random.Generator,
                sky_rng: np.random.Generator | None = None) -> list[StylePlan]:
    """The weather, time and sky seed of each style of one scene."""
    plans = []
    for sid in styles:
        style = style_by_id(sid)
        minutes = style_cfg.draw_time(sid, rng)
        weather = style.weather if style.weather != "any" else str(style_cfg.weathers[rng.integers(len(style_cfg.weathers))])
        sky_seed = int(sky_rng.integers(1, 2**31 - 1)) if sky_rng is not None else 0
        plans.append(StylePlan(sid, weather, format_time(minutes), sky_seed))
    return plans


def mask_change(reference: np.ndarray, mask: np.ndarray) -> tuple[int, float]:
    """(pixels that differ, their share of the reference's foreground pixels) between two masks."""
    differ = int(np.count_nonzero(reference != mask))
    return differ, differ / max(int(np.count_nonzero(reference)), 1)


class SceneCatalog:
    """What the player offers: for each of its scenes, the viewpoints and the foregrounds of the
    wanted categories. Scenes without both are never drawn."""

    def __init__(self, details: dict[str, dict], categories: tuple[str, ...]) -> None:
        self.details = details            # scene -> {"viewpoints": [{name}], "foregrounds": [{name, category}],
        #                                            "controller": str, "weather_types": [str]}
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


def check_settle(cfg: RenderConfig, player: "PlayerConnection", controller: str) -> None:
    """Refuse settle frames that cannot show a UniStorm sky's new clouds."""
    if controller == "unistorm" and cfg.unity.settle_frames < UNISTORM_MIN_SETTLE_FRAMES:
        raise RdhError(f"--settle-frames {cfg.unity.settle_frames}: {player.who} renders its sky with UniStorm, which "
                       f"redraws its clouds over 16 frames (after 25 warm-up frames), so fewer than "
                       f"{UNISTORM_MIN_SETTLE_FRAMES} show the previous weather; use the default "
                       f"{default_of(UnityOptions, 'settle_frames')}")


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
        self.paused: dict[str, bool] = {}       # scene -> whether the player reported it paused
        self.staging = Path(run.cfg.out) / STATE_DIR / "staging" / f"w{worker_id}"

    def connect(self) -> "PlayerConnection":
        if self.player is None:
            from unity_bridge.client import PlayerConnection

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
                    if isinstance(exc, PlayerExitedEarly):
                        raise  # a build that cannot start does not start on a retry either
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
            layout_rng, style_rng, seed, sky_rng = scene_streams(cfg.seed, index)
            layout, mask_path = self.draw_layout(player, layout_rng, folder, sid)
            if layout is None:
                return
            reference = self.read_mask(player, mask_path)
            if self.refused_passes(sid, "layout", layout.pass_diff, reference):
                return
            captured = self.capture_styles(player, sid, folder, reference, plan_styles(cfg.styles, run.style_cfg,
                                                                                       style_rng, sky_rng))
            if captured is None:
                return
            styles, images, kept = captured
            meta = self.scene_meta(player, sid, seed, index, layout, styles)
            try:
                write_scene(cfg.out, meta, images, {0: kept}, move_files=True)
            except RdhError as exc:  # a file the player wrote is not a usable image or mask
                raise ProtocolError(f"{player.who} wrote a file rdh cannot use: {exc}") from None
            run.finished(SceneOutcome(sid, len(styles), self.redraws))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def capture_styles(self, player: "PlayerConnection", sid: str, folder: Path, reference: np.ndarray,
                       plans: list[StylePlan]) -> tuple[list[dict], dict[int, Path], np.ndarray] | None:
        """Set and capture each style: (style records, image paths, the mask kept), or None when the
        scene is refused (its foreground moved, or its id passes disagree)."""
        cfg, u = self.run.cfg, self.run.cfg.unity
        styles, images, kept = [], {}, reference.copy()
        for plan in plans:
            applied = player.set_style(plan.weather, plan.time, u.settle_frames, u.settle_seconds, plan.sky_seed)
            if applied["weather"] != plan.weather or applied["time"] != plan.time:
                raise ProtocolError(f"{player.who} applied {applied['weather']!r} at {applied['time']} when asked for "
                                    f"{plan.weather!r} at {plan.time}: check its sky controller")
            # The mask of each style, taken after that style settled: the foreground must not have moved.
            shot = player.capture(folder, image=style_file(plan.style_id), mask=f"mask_{plan.style_id:02d}.png",
                                  width=cfg.resolution, height=cfg.resolution)
            log.debug("%s style %d settled in %d frames, %.3f s", sid, plan.style_id, applied["frames"],
                      applied["seconds"])   # not in scene.json, which must not change between two renders
            mask = self.read_mask(player, shot["mask_path"])
            if self.refused_passes(sid, f"style {plan.style_id}", shot["mask_pass_diff"], reference):
                return None
            differ, share = mask_change(reference, mask)
            if share > u.mask_tolerance:
                self.run.failed(sid, self.redraws,
                                f"the foreground moved: its mask in style {plan.style_id} differs from the first in "
                                f"{differ} pixels ({share:.1%} of the foreground, over --mask-tolerance "
                                f"{u.mask_tolerance:g}); freeze the scene's animation (docs/unity.md, Freezing)")
                return None
            kept &= mask
            images[plan.style_id] = shot["image_path"]
            styles.append({"id": plan.style_id, "weather": plan.weather, "time": plan.time,
                           "weather_type": applied["weather_type"], "sky_seed": plan.sky_seed,
                           "mask_diff_pixels": differ, "mask_pass_diff": shot["mask_pass_diff"],
                           "lighting": {str(v.get("name")): v.get("value") for v in applied["values"]
                                        if isinstance(v, dict)}})
        return styles, images, kept

    def refused_passes(self, sid: str, which: str, disagree: int, reference: np.ndarray) -> bool:
        """Refuse the scene when the two id passes of a mask disagree on more pixels than --mask-tolerance
        allows (a share of the foreground's pixels): something other than the foreground draws into them."""
        u = self.run.cfg.unity
        foreground = int(np.count_nonzero(reference))
        if disagree <= u.mask_tolerance * max(foreground, 1):
            return False
        self.run.failed(sid, self.redraws,
                        f"the two id passes of its {which} mask disagree on {disagree} pixels, over --mask-tolerance "
                        f"{u.mask_tolerance:g} of the foreground's {foreground} pixels: something other than the "
                        "foreground draws into the id pass (a renderer feature, post-processing, an animated occluder "
                        "on Own Material Layers); docs/unity.md, The mask")
        return True

    def scene_meta(self, player: "PlayerConnection", sid: str, seed: int, index: int, layout: Layout,
                   styles: list[dict]) -> dict:
        """scene.json of a finished scene: the same each time the scene is rendered, whichever worker renders it."""
        cfg, u = self.run.cfg, self.run.cfg.unity
        sky = self.run.catalog.details[layout.unity_scene]
        info = {k: player.info[k] for k in ("unity_version", "product", "package_version", "render_pipeline",
                                            "mask_check")}
        info.update(controller=sky["controller"], weather_types=sky["weather_types"])
        return {
            "scene_id": sid, "engine": "unity", "seed": seed, "styles": styles,
            "foregrounds": [{"id": 0, "category": layout.category, "name": layout.foreground}],
            "camera": {"viewpoint": layout.viewpoint, **layout.camera},
            "source": {"unity_scene": layout.unity_scene, "player": info, "protocol": PROTOCOL_VERSION,
                       "run_seed": int(cfg.seed), "index": int(index), "layout_attempts": layout.attempts,
                       "paused": layout.paused, "settle": {"frames": u.settle_frames, "seconds": u.settle_seconds},
                       "mask_check": {"max_diff_pixels": max((s["mask_diff_pixels"] for s in styles), default=0),
                                      "max_pass_diff_pixels": max([layout.pass_diff] +
                                                                  [s["mask_pass_diff"] for s in styles]),
                                      "tolerance": u.mask_tolerance, "kept": "foreground in every style"}},
        }

    @staticmethod
    def read_mask(player: "PlayerConnection", path: Path) -> np.ndarray:
        try:
            return read_mask(path)
        except RdhError as exc:
            raise ProtocolError(f"{player.who} wrote a mask rdh cannot use: {exc}") from None

    def draw_layout(self, player: "PlayerConnection", rng: np.random.Generator, folder: Path,
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
            ratio = float(self.read_mask(player, shot["mask_path"]).mean())
            if ratio > 0 and cfg.min_fg_ratio <= ratio <= cfg.max_fg_ratio:
                return (Layout(name, viewpoint, fg["name"], category or fg["category"], attempt, camera,
                               self.paused.get(name, False), shot["mask_pass_diff"]), shot["mask_path"])
            self.redraws += 1
        self.run.failed(sid, self.redraws, f"no layout with a foreground covering {cfg.min_fg_ratio:g}..{cfg.max_fg_ratio:g} "
                        f"of the image in {MAX_LAYOUT_TRIES} draws")
        return None, None

    def load(self, player: "PlayerConnection", name: str) -> None:
        if self.loaded != name:
            self.loaded_scene(player, name, player.load_scene(name))

    def loaded_scene(self, player: "PlayerConnection", name: str, reply: dict) -> None:
        """Note a scene the player loaded; refuse a scene without a sky controller, and too few settle
        frames for its sky."""
        self.loaded = name
        self.paused[name] = bool(reply["paused"])
        if reply["controller"] == "none":
            raise BridgeError(f"{player.who} loaded scene {name!r} and found no sky controller in it: add a "
                              "DirectionalLightSkyController or a UniStormSkyController to the bootstrap scene's rdh "
                              "object or to each content scene (docs/unity.md)")
        check_settle(self.run.cfg, player, reply["controller"])


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
        self.players: set["PlayerConnection"] = set()
        self.catalog: SceneCatalog | None = None
        self.errors: list[BaseException] = []

    def next_index(self) -> int | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def check_player(self, player: "PlayerConnection", worker: Worker) -> None:
        """The first player describes its scenes (loading each once) into the catalog; every other
        player must list the same scenes."""
        check_settle(self.cfg, player, player.info["controller"])
        scenes = player.list_scenes()
        with self.lock:
            if self.catalog is None:
                details = {}
                for name in scenes:
                    reply = player.load_scene(name)
                    worker.loaded_scene(player, name, reply)
                    details[name] = {k: reply[k] for k in ("viewpoints", "foregrounds", "controller", "weather_types")}
                self.catalog = SceneCatalog(details, self.cfg.categories)
            elif scenes != list(self.catalog.details):
                raise ProtocolError(f"{player.who} lists other scenes than the first player "
                                    f"({scenes} vs {list(self.catalog.details)}): run one build for all workers")

    def register(self, player: "PlayerConnection") -> "PlayerConnection":
        with self.lock:
            self.players.add(player)
        return player

    def unregister(self, player: "PlayerConnection") -> None:
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
        require_unity_extra()
        player_spec(cfg).check(cfg.workers)
        u = cfg.unity
        if u.max_restarts < 0:
            raise RdhError(f"--max-restarts {u.max_restarts}: use 0 or more")
        if u.settle_frames < 0:
            raise RdhError(f"--settle-frames {u.settle_frames}: use 0 or more")
        if not 0 <= u.settle_seconds <= 600:
            raise RdhError(f"--settle-seconds {u.settle_seconds:g}: use 0..600")
        if not 0 <= u.mask_tolerance < 1:
            raise RdhError(f"--mask-tolerance {u.mask_tolerance:g}: use a share of the foreground's pixels in 0..1, "
                           "e.g. 0.01")
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
            stopping = [e for e in run.errors if not isinstance(e, PlayerCrashed) or isinstance(e, PlayerExitedEarly)]
            first = stopping[0] if stopping else run.errors[0]
            raise first

    def task(self):
        raise RdhError("the Unity engine has no per-scene task: use --executor local")
