"""`rdh evaluate --predictions` on a small pair dataset made by make-composites."""
from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from datagen.compose import ComposeConfig, make_composites
from rdhcore.imageio import read_rgb, write_image
from harmonize.evaluate import EvalConfig, evaluate, fg_bin
from harmonize.metrics import PSNR_EPS, Protocol
from rdhcore.errors import RdhError
from manifests.schema import read_manifest, resolve_paths, write_manifest
from tests.synth import make_store


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Pairs of 6 synthetic scenes (3 styles), half of the scenes in split=test; one test and one train scene are 'cow'."""
    root = tmp_path_factory.mktemp("evalset")
    make_store(root / "captures", n_scenes=6, size=(32, 40), styles=[1, 5, 10], seed=3, category="human")
    make_composites(ComposeConfig(captures=root / "captures", out=root / "pairs", test_fraction=0.5, seed=1))
    manifest = root / "pairs" / "pairs.parquet"
    df = read_manifest(manifest)
    test_scenes = sorted(df.loc[df["split"] == "test", "group_id"].unique())
    train_scenes = sorted(df.loc[df["split"] == "train", "group_id"].unique())
    df.loc[df["group_id"].isin([test_scenes[0], train_scenes[0]]), "category"] = "cow"
    write_manifest(df, manifest)
    test = df[df["split"] == "test"]
    assert len(test) and test["category"].nunique() == 2, "the fixture needs test pairs of both categories"
    return manifest


def write_predictions(manifest, folder, column, change=None):
    """Copy the composite or target of every test pair to folder/<pair_id>.png (optionally changed)."""
    df = resolve_paths(read_manifest(manifest), manifest)
    folder.mkdir(parents=True, exist_ok=True)
    for row in df[df["split"] == "test"].itertuples():
        img = read_rgb(getattr(row, column))
        write_image(folder / f"{row.pair_id}.png", change(img) if change else img)
    return folder


def test_predictions_equal_to_targets_score_zero_error(dataset, tmp_path):
    preds = write_predictions(dataset, tmp_path / "preds", "target_path")
    result = evaluate(EvalConfig(manifest=dataset, predictions=preds))
    n_test = int((read_manifest(dataset)["split"] == "test").sum())
    assert result.overall["count"] == n_test == len(result.per_image)
    assert result.overall["mse"] == 0 and result.overall["fmse"] == 0
    assert result.overall["psnr"] == pytest.approx(10 * math.log10(255 ** 2 / PSNR_EPS))
    assert result.overall["composite_mse"] > 0 and result.overall["composite_fmse"] > result.overall["composite_mse"]
    for g in result.groups:
        assert g["mse"] == 0 and g["fmse"] == 0, g


def test_predictions_equal_to_composites_match_the_composite_row(dataset, tmp_path):
    preds = write_predictions(dataset, tmp_path / "preds", "composite_path")
    result = evaluate(EvalConfig(manifest=dataset, predictions=preds))
    for row in [result.overall, *result.groups]:
        for m in ("mse", "fmse", "psnr"):
            assert row[m] == pytest.approx(row[f"composite_{m}"], rel=1e-12), (row, m)
    assert result.overall["mse"] > 1.0  # the composites do differ from their targets


def test_constant_error_gives_hand_computed_scores(dataset, tmp_path):
    # every channel of every pixel 4 levels off -> MSE = fMSE = 16 at any evaluation size
    preds = write_predictions(dataset, tmp_path / "preds", "target_path",
                              change=lambda img: img - np.uint8(4))
    df = resolve_paths(read_manifest(dataset), dataset)
    assert all(read_rgb(p).min() >= 4 for p in df["target_path"]), "targets must leave room for -4"
    for protocol in (Protocol(), Protocol(size=None), Protocol(resize_filter="area")):
        result = evaluate(EvalConfig(manifest=dataset, predictions=preds, protocol=protocol))
        assert result.overall["mse"] == pytest.approx(16.0)
        assert result.overall["fmse"] == pytest.approx(16.0)
        assert result.overall["psnr"] == pytest.approx(10 * math.log10(255 ** 2 / (16 + PSNR_EPS)))


def test_groups_cover_every_key_and_partition_the_images(dataset, tmp_path):
    preds = write_predictions(dataset, tmp_path / "preds", "composite_path")
    result = evaluate(EvalConfig(manifest=dataset, predictions=preds, novel=("human",)))
    n = result.overall["count"]
    by_key = {}
    for g in result.groups:
        by_key.setdefault(g["group"], []).append(g)
    assert set(by_key) == {"domain", "source", "category", "novel", "fg_bin"}
    for key, rows in by_key.items():
        assert sum(r["count"] for r in rows) == n, key
    assert {r["value"] for r in by_key["category"]} == {"human", "cow"}
    assert result.group("novel", True)["count"] == int((result.per_image["category"] == "human").sum())
    # per-image means reproduce each group's number
    cow = result.per_image[result.per_image["category"] == "cow"]
    assert result.group("category", "cow")["fmse"] == pytest.approx(cow["fmse"].mean())
    assert all(fg_bin(r) == b for r, b in zip(result.per_image["fg_ratio"], result.per_image["fg_bin"]))
    assert [fg_bin(x) for x in (0.0, 0.049, 0.05, 0.149, 0.15, 1.0)] == ["0-5%", "0-5%", "5-15%", "5-15%", "15-100%", "15-100%"]


def test_filter_split_and_limit(dataset, tmp_path):
    preds = write_predictions(dataset, tmp_path / "preds", "composite_path")
    cow = evaluate(EvalConfig(manifest=dataset, predictions=preds, filter="category=cow"))
    assert set(cow.per_image["category"]) == {"cow"}
    assert evaluate(EvalConfig(manifest=dataset, predictions=preds, limit=2)).overall["count"] == 2
    assert set(evaluate(EvalConfig(manifest=dataset, predictions=preds, filter="category!=cow")).per_image["category"]) == {"human"}
    # ';' ORs groups, as in `rdh train`: the cow pairs plus one human scene's pairs.
    human = evaluate(EvalConfig(manifest=dataset, predictions=preds, filter="category!=cow")).per_image
    scene = sorted(set(human["pair_id"].str.partition("_")[0]))[0]
    either = evaluate(EvalConfig(manifest=dataset, predictions=preds, filter=f"category=cow;category=human,group_id={scene}"))
    assert set(either.per_image["category"]) == {"cow", "human"}
    assert len(either.per_image) == len(cow.per_image) + int((human["pair_id"].str.partition("_")[0] == scene).sum())
    with pytest.raises(RdhError, match="no column .weather."):
        evaluate(EvalConfig(manifest=dataset, predictions=preds, filter="weather=clear"))
    with pytest.raises(RdhError, match="no rows"):
        evaluate(EvalConfig(manifest=dataset, predictions=preds, filter="category=couch"))


def test_missing_or_wrong_size_predictions_are_refused(dataset, tmp_path):
    preds = write_predictions(dataset, tmp_path / "preds", "target_path")
    victim = sorted(preds.iterdir())[0]
    victim.unlink()
    with pytest.raises(RdhError, match=f"missing, e.g. {victim.name}"):
        evaluate(EvalConfig(manifest=dataset, predictions=preds))
    write_image(victim, np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(RdhError, match="target's size"):
        evaluate(EvalConfig(manifest=dataset, predictions=preds))
    with pytest.raises(RdhError, match="exactly one"):
        evaluate(EvalConfig(manifest=dataset))




def test_cli_writes_json_csv_and_prints_one_line_errors(dataset, tmp_path, rdh_main):
    preds = write_predictions(dataset, tmp_path / "preds", "target_path")
    js, cs, per = tmp_path / "s.json", tmp_path / "s.csv", tmp_path / "per.csv"
    code, stdout, err = rdh_main("evaluate", "--manifest", dataset, "--predictions", preds, "--json", js, "--csv", cs,
                            "--per-image", per, "--novel", "human", "--ssim")
    assert code == 0, err
    assert "fMSE" in stdout and "protocol" in stdout
    data = json.loads(js.read_text())
    assert {"count", "mse", "fmse", "psnr"} <= set(data["overall"]) and data["overall"]["mse"] == 0
    assert data["overall"]["ssim"] == pytest.approx(1.0) and data["protocol"]["psnr_peak"] == "255"
    table = pd.read_csv(cs)
    assert len(table) == 1 + len(data["groups"]) and table.loc[0, "group"] == "overall"
    assert (table["mse"] == 0).all() and (table["composite_mse"] > 0).all()
    assert len(pd.read_csv(per)) == data["overall"]["count"]

    shutil.rmtree(preds)
    code, _, err = rdh_main("evaluate", "--manifest", dataset, "--predictions", preds)
    lines = [l for l in err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "--predictions" in lines[0], err
    code, _, err = rdh_main("evaluate", "--manifest", dataset, "--predictions", tmp_path, "--psnr-peak", "max")
    assert code == 2 and "--psnr-peak 'max'" in err


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real (untrained, tiny) iDIH checkpoint at training size 32."""
    import torch

    from harmonize.blocks import UNetSpec
    from harmonize.checkpoint import model_payload, save_checkpoint
    from harmonize.idih import IDIH

    torch.manual_seed(0)
    return save_checkpoint(model_payload(IDIH(UNetSpec(depth=4, width=8)), "idih", 32),
                           tmp_path_factory.mktemp("ckpt") / "best.pt")


def test_checkpoint_scores_equal_the_scores_of_its_saved_outputs(dataset, checkpoint, tmp_path, rdh_main):
    saved = tmp_path / "outputs"
    js = tmp_path / "model.json"
    code, _, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", checkpoint, "--save-outputs", saved,
                       "--json", js, "--batch-size", "4")
    assert code == 0, err
    by_model = json.loads(js.read_text())
    df = resolve_paths(read_manifest(dataset), dataset)
    test = df[df["split"] == "test"]
    assert sorted(p.stem for p in saved.iterdir()) == sorted(test["pair_id"])
    for row in test.head(3).itertuples():
        out, comp = read_rgb(saved / f"{row.pair_id}.png"), read_rgb(row.composite_path)
        mask = read_rgb(row.mask_path)[..., 0] > 127
        assert out.shape == comp.shape
        np.testing.assert_array_equal(out[~mask], comp[~mask])       # background untouched
    by_files = evaluate(EvalConfig(manifest=dataset, predictions=saved))
    for m in ("mse", "fmse", "psnr", "composite_mse"):
        assert by_model["overall"][m] == pytest.approx(by_files.overall[m], rel=1e-9)
    assert by_model["overall"]["mse"] != pytest.approx(by_model["overall"]["composite_mse"])
    assert by_model["checkpoint"] == str(checkpoint)


def test_raw_output_scores_the_network_output_at_its_size(dataset, checkpoint, tmp_path):
    kept = evaluate(EvalConfig(manifest=dataset, checkpoint=checkpoint))
    raw = evaluate(EvalConfig(manifest=dataset, checkpoint=checkpoint, protocol=Protocol(size=None, raw_output=True),
                              save_outputs=tmp_path / "raw"))
    assert raw.protocol.size == 32 and raw.source["raw_output"] and raw.source["model"] == "idih"
    assert read_rgb(sorted((tmp_path / "raw").iterdir())[0]).shape == (32, 32, 3)
    # an untrained network also changes the background, which the default (kept background) undoes
    assert raw.overall["mse"] > kept.overall["mse"]
    assert raw.overall["count"] == kept.overall["count"]
    with pytest.raises(RdhError, match="--eval-size 32"):
        evaluate(EvalConfig(manifest=dataset, checkpoint=checkpoint, protocol=Protocol(raw_output=True)))
    # raw outputs saved as files score the same, at the network's size
    from_files = evaluate(EvalConfig(manifest=dataset, predictions=tmp_path / "raw", protocol=Protocol(size=32, raw_output=True)))
    assert from_files.overall["mse"] == pytest.approx(raw.overall["mse"], abs=0.5)   # the files are rounded
    with pytest.raises(RdhError, match="--eval-size"):
        evaluate(EvalConfig(manifest=dataset, predictions=tmp_path / "raw", protocol=Protocol(size=None, raw_output=True)))
    with pytest.raises(RdhError, match="must be the evaluation size 64x64"):
        evaluate(EvalConfig(manifest=dataset, predictions=tmp_path / "raw", protocol=Protocol(size=64, raw_output=True)))


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A run folder whose last.pt and best.pt hold different (untrained, tiny) iDIH weights."""
    import torch

    from harmonize.blocks import UNetSpec
    from harmonize.checkpoint import model_payload, save_checkpoint
    from harmonize.idih import IDIH

    run = tmp_path_factory.mktemp("run")
    for seed, name, step in ((1, "best.pt", 3), (2, "last.pt", 6)):
        torch.manual_seed(seed)
        payload = {**model_payload(IDIH(UNetSpec(depth=4, width=8)), "idih", 32), "step": step}
        save_checkpoint(payload, run / name)
    return run


def test_a_run_folder_is_scored_from_last_pt_unless_best(dataset, run_folder, tmp_path, rdh_main):
    by_folder = evaluate(EvalConfig(manifest=dataset, checkpoint=run_folder))
    by_last = evaluate(EvalConfig(manifest=dataset, checkpoint=run_folder / "last.pt"))
    by_best = evaluate(EvalConfig(manifest=dataset, checkpoint=run_folder, best=True))
    assert by_folder.source["checkpoint"] == str(run_folder / "last.pt") and by_folder.source["step"] == 6
    assert by_folder.overall["mse"] == by_last.overall["mse"]
    assert by_best.source["checkpoint"] == str(run_folder / "best.pt") and by_best.source["step"] == 3
    assert by_best.overall["mse"] != pytest.approx(by_folder.overall["mse"])
    # the command says which file it scored
    code, out, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", run_folder, "--json", tmp_path / "s.json")
    assert code == 0, err
    assert f"scored {run_folder / 'last.pt'}" in out.replace("\n", "") and "step 6" in out
    assert json.loads((tmp_path / "s.json").read_text())["checkpoint"] == str(run_folder / "last.pt")
    code, out, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", run_folder, "--best")
    assert code == 0 and f"scored {run_folder / 'best.pt'}" in out.replace("\n", ""), err
    # --best needs a folder; a folder needs the file asked for
    code, _, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", run_folder / "last.pt", "--best")
    assert code == 2 and "--best" in err and len([l for l in err.splitlines() if l.strip()]) == 1, err
    only_best = tmp_path / "only_best"
    only_best.mkdir()
    shutil.copy(run_folder / "best.pt", only_best / "best.pt")
    with pytest.raises(RdhError, match="no last.pt .it has best.pt: add --best"):
        evaluate(EvalConfig(manifest=dataset, checkpoint=only_best))


def test_cli_protocol_preset_and_overrides_reach_the_json(dataset, checkpoint, tmp_path, rdh_main):
    js = tmp_path / "p.json"
    code, out, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", checkpoint, "--protocol", "charmnet",
                         "--eval-size", "32", "--json", js)
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["protocol"]["preset"] is None     # the preset at 32x32 is no longer the published protocol
    assert (data["protocol"]["raw_output"], data["protocol"]["quantize"], data["protocol"]["mask"]) == (True, "truncate", "pil-1bit")
    assert data["raw_output"] is True and "raw network output" in data["protocol_text"]
    code, out, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", checkpoint, "--protocol", "charmnet",
                         "--eval-size", "32", "--psnr-peak", "255", "--full-result", "--json", js)
    assert code == 0, err
    data = json.loads(js.read_text())
    assert (data["protocol"]["raw_output"], data["protocol"]["psnr_peak"], data["protocol"]["quantize"]) == (False, "255", "truncate")
    code, _, err = rdh_main("evaluate", "--manifest", dataset, "--checkpoint", checkpoint, "--protocol", "dove")
    assert code == 2 and "--protocol 'dove'" in err
