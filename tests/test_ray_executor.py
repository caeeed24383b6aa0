"""--executor ray on a local Ray bound to loopback (2 CPUs): tiny scenes rendered and composited
on Ray are byte-identical to a local run, and a scene whose worker dies is retried."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")

from datagen.builtin.engine import BuiltinEngine  # noqa: E402
from datagen.compose import ComposeConfig, make_composites  # noqa: E402
from datagen.ray_executor import ray_session, run_tasks  # noqa: E402
from datagen.render import render  # noqa: E402
from datagen.render_config import BuiltinOptions, RayOptions, RenderConfig, scene_id  # noqa: E402

pytestmark = pytest.mark.slow  # Mitsuba renders on a local Ray

SCENES = 3


def config(out: Path, **kw) -> RenderConfig:
    return RenderConfig(out=out, scenes=SCENES, seed=11, resolution=32, styles=(2, 10),
                        builtin=BuiltinOptions(spp=2, variant="scalar"), **kw)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".rdh" not in p.parts and p.suffix != ".parquet"}


@pytest.fixture(scope="module")
def local_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "captures"
    assert render(config(out)).failed == []
    pairs = out.parent / "pairs"
    make_composites(ComposeConfig(captures=out, out=pairs))
    return out, pairs


@pytest.fixture(scope="module")
def local_ray():
    with ray_session(RayOptions(), local_cpus=2) as ray:       # the executor's own local start: 127.0.0.1
        yield ray


def test_render_and_composites_on_ray_are_byte_identical_to_local(local_store, local_ray, tmp_path):
    out, pairs = local_store
    reported: list[int] = []
    summary = render(config(tmp_path / "captures", executor="ray", workers=2), reported.append)
    assert (summary.rendered, summary.images, summary.failed) == (SCENES, SCENES * 2, [])
    assert sum(reported) == SCENES * 2
    theirs = files(tmp_path / "captures")
    assert theirs == files(out) and len(theirs) == SCENES * 4           # scene.json, 02.png, 10.png, fg_0.png
    pd.testing.assert_frame_equal(pd.read_parquet(out / "captures.parquet"),
                                  pd.read_parquet(tmp_path / "captures" / "captures.parquet"))
    again = render(config(tmp_path / "captures", executor="ray"))          # resume: nothing left to do
    assert (again.rendered, again.skipped) == (0, SCENES)

    ray_pairs = tmp_path / "pairs"
    made = make_composites(ComposeConfig(captures=tmp_path / "captures", out=ray_pairs, executor="ray", workers=2))
    assert made.pairs == SCENES * 2 * 1
    assert files(ray_pairs) == files(pairs)
    pd.testing.assert_frame_equal(pd.read_parquet(pairs / "pairs.parquet"), pd.read_parquet(ray_pairs / "pairs.parquet"))


class DiesOnce:
    """A scene task whose first attempt at scene 1 kills its own worker process (SIGKILL)."""

    def __init__(self, task, marks: Path):
        self.task, self.marks = task, marks

    def __call__(self, index: int, report):
        attempt = self.marks / f"{index}.{len(list(self.marks.glob(f'{index}.*')))}"
        attempt.touch()
        if index == 1 and attempt.name == "1.0":
            os.kill(os.getpid(), signal.SIGKILL)
        return self.task(index, report)


def test_a_scene_whose_worker_dies_is_retried(local_store, local_ray, tmp_path):
    out, _ = local_store
    marks = tmp_path / "marks"
    marks.mkdir()
    engine = BuiltinEngine(config(tmp_path / "captures", executor="ray"))
    engine.open()
    outcomes = list(run_tasks(DiesOnce(engine.task(), marks), [0, 1, 2], RayOptions(max_retries=2), 2,
                              lambda n: None, scene_id))
    assert sorted(o.scene_id for o in outcomes) == [scene_id(i) for i in range(SCENES)]
    assert all(not o.error and o.images == 2 for o in outcomes)
    assert sorted(p.name for p in marks.iterdir()) == ["0.0", "1.0", "1.1", "2.0"]   # scene 1 ran twice
    for name in ("02.png", "10.png", "fg_0.png", "scene.json"):
        assert (tmp_path / "captures" / "scenes" / "scene000001" / name).read_bytes() == \
            (out / "scenes" / "scene000001" / name).read_bytes()

    no_retry = tmp_path / "no-retry"
    no_retry.mkdir()
    engine = BuiltinEngine(config(tmp_path / "other", executor="ray"))
    engine.open()
    [lost] = run_tasks(DiesOnce(engine.task(), no_retry), [1], RayOptions(max_retries=0), 2, lambda n: None, scene_id)
    assert lost.scene_id == "scene000001" and "retries" in lost.error
    assert not (tmp_path / "other" / "scenes" / "scene000001").exists()
    assert np.array_equal(sorted(p.name for p in no_retry.iterdir()), ["1.0"])
