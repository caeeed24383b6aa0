"""The Unity bridge's own cost, measured against the stand-in player (no Unity needed).

    python bench/unity_protocol.py [--resolution 256] [--pings 500] [--captures 40] [--scenes 3]

Prints:
  - round trips per second: one request, one reply, one environment step each (`ping`);
  - per captured image: the whole request, the part the player spent drawing and writing the PNG
    (it reports it), and the difference: the bridge's overhead (messages, gRPC, file checks);
  - per image, writing the scene into the store (decode checks and atomic move);
  - `render-scenes --engine unity` end to end (settle frames 0), per image.
Target: bridge overhead + store write under 20 ms per image. The stand-in draws its frames with
numpy, so 'player' time here is not Unity's rendering time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from datagen.capture_store import write_scene
    from datagen.render import render
    from datagen.render_config import RenderConfig, UnityOptions
    from unity_bridge.client import PlayerConnection
    from unity_bridge.launcher import PlayerSpec
    from unity_bridge.ports import find_free_base_port
    from unity_bridge.testing.player import write_launcher

warnings.simplefilter("ignore", DeprecationWarning)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--pings", type=int, default=500)
    parser.add_argument("--captures", type=int, default=40)
    parser.add_argument("--scenes", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rdh-bench-unity-") as tmp:
        tmp = Path(tmp)
        build = write_launcher(tmp / "standin.x86_64")
        spec = PlayerSpec(build=build, log_dir=tmp / "logs", base_port=find_free_base_port(1),
                          connect_timeout=60, reply_timeout=60)
        start = time.perf_counter()
        with PlayerConnection(spec) as player:
            connect_s = time.perf_counter() - start
            for _ in range(20):  # warm up
                player.ping()
            start = time.perf_counter()
            for _ in range(args.pings):
                player.ping()
            ping_s = (time.perf_counter() - start) / args.pings

            player.load_scene("Street")
            player.set_viewpoint("corner")
            player.set_foreground("Walker")
            player.set_style("Clear", "12:00", settle_frames=0)
            totals, drawn, paths = [], [], []
            for k in range(args.captures):
                t = time.perf_counter()
                shot = player.capture(tmp / "stage", image=f"{k:04d}.png", width=args.resolution,
                                      height=args.resolution)
                totals.append(1000 * (time.perf_counter() - t))
                drawn.append(float(shot["ms"]))
                paths.append(shot["image_path"])
            mask = player.capture(tmp / "stage", mask="mask.png", width=args.resolution,
                                  height=args.resolution)["mask_path"]

        # Writing scenes of 10 styles from the player's files, as the engine does.
        store_ms = []
        for s in range(0, len(paths) - 9, 10):
            meta = {"scene_id": f"bench{s:04d}", "engine": "unity", "seed": 0, "camera": {}, "source": {},
                    "styles": [{"id": i, "weather": "Clear", "time": "12:00"} for i in range(1, 11)],
                    "foregrounds": [{"id": 0, "category": "human"}]}
            t = time.perf_counter()
            write_scene(tmp / "store", meta, {i + 1: paths[s + i] for i in range(10)}, {0: mask}, move_files=True)
            store_ms.append(1000 * (time.perf_counter() - t) / 10)

        # The whole engine.
        cfg = RenderConfig(out=tmp / "captures", engine="unity", scenes=args.scenes, seed=0, resolution=args.resolution,
                           unity=UnityOptions(build=build, base_port=find_free_base_port(1), settle_frames=0,
                                             settle_seconds=0.0))
        start = time.perf_counter()
        summary = render(cfg)
        engine_s = time.perf_counter() - start

    total, player_ms = statistics.median(totals), statistics.median(drawn)
    overhead = total - player_ms
    store = statistics.median(store_ms) if store_ms else float("nan")
    print(f"stand-in player: start + connect + hello      {connect_s:8.2f} s")
    print(f"round trips (ping)                            {1 / ping_s:8.0f} messages/s ({1000 * ping_s:.2f} ms each)")
    print(f"capture request at {args.resolution}x{args.resolution} (median of {args.captures})")
    print(f"  whole request                               {total:8.2f} ms/image")
    print(f"  player drawing + writing the PNG            {player_ms:8.2f} ms/image")
    print(f"  bridge overhead (messages, gRPC, checks)    {overhead:8.2f} ms/image")
    print(f"store write (decode checks + atomic move)     {store:8.2f} ms/image")
    print(f"bridge's own cost per image                   {overhead + store:8.2f} ms  (target < 20 ms)")
    print(f"render-scenes --engine unity, {summary.rendered} scenes, settle 0 "
          f"{1000 * engine_s / max(summary.images, 1):8.2f} ms/image end to end ({summary.images} images, "
          f"{summary.redraws} layout re-draws, player start included)")


if __name__ == "__main__":
    main()
