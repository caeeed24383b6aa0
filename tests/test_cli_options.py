"""Options declared once: the CLI's defaults and help come from the config dataclasses, help is
grouped in panels, and an option that does not apply to the chosen model or engine is refused."""
from __future__ import annotations

from dataclasses import fields

import pytest

from datagen.render_config import BuiltinOptions, UnityOptions
from harmonize.options import TrainConfig
from rdhcore import __version__
from tests.cli import error_line, rdh_process


@pytest.mark.parametrize("command, panels", [
    ("train", ["Model", "Losses (eq. 6)", "Optimization", "Run", "Performance"]),
    ("render-scenes", ["Common", "Built-in engine", "Unity engine"]),
    ("evaluate", ["Protocol", "Outputs"]),
])
def test_help_is_grouped_in_panels(command, panels, rdh_main):
    code, out, _ = rdh_main(command, "--help")
    assert code == 0
    places = [out.index(f"─ {p} ─") for p in panels]  # each panel's title in its box
    assert places == sorted(places)


def test_train_defaults_and_help_are_the_dataclass_fields(rdh_main):
    code, out, _ = rdh_main("train", "--help")
    text = " ".join(out.split())
    for f in fields(TrainConfig):
        if f.metadata.get("help"):
            assert "--" + f.name.replace("_", "-") in text
            assert " ".join(f.metadata["help"].split()[:4]) in text.replace("│ ", "")


@pytest.mark.parametrize("args, flag", [
    (["--model", "idih", "--sa-loss", "fixed-input"], "--sa-loss"),
    (["--model", "idih", "--unshared", "2"], "--unshared"),
    (["--model", "idih", "--lambda-adv", "0.5"], "--lambda-adv"),
])
def test_charmnet_only_options_are_refused_with_idih(tmp_path, args, flag):
    line = error_line(rdh_process("train", *args, "--manifest", tmp_path / "m.parquet", "--out", tmp_path / "run",
                                  "--max-steps", "1"))
    assert line.startswith(f"rdh: error: {flag} applies to --model charmnet only")
    assert not (tmp_path / "run").exists()


def test_a_charmnet_only_option_at_its_default_is_accepted_with_idih(tmp_path, rdh_main):
    code, _, err = rdh_main("train", "--model", "idih", "--unshared", "4", "--manifest", tmp_path / "missing.parquet",
                            "--out", tmp_path / "run", "--max-steps", "1")
    assert code == 2 and "--unshared" not in err and "missing.parquet" in err   # it got past the option check


@pytest.mark.parametrize("args, flag, engine", [
    (["--unity-build", "player.x86_64"], "--unity-build", "unity"),
    (["--base-port", "6000"], "--base-port", "unity"),
    (["--engine", "unity", "--spp", "64"], "--spp", "builtin"),
    (["--engine", "unity", "--no-denoise"], "--denoise", "builtin"),
    (["--ray-cpus-per-scene", "2"], "--ray-cpus-per-scene", "ray"),
])
def test_render_options_of_another_engine_are_refused(tmp_path, rdh_main, args, flag, engine):
    code, _, err = rdh_main("render-scenes", tmp_path / "out", *args)
    assert code == 2
    setting = "executor" if engine == "ray" else "engine"
    assert err.strip() == (f"rdh: error: {flag} applies to --{setting} {engine} only, not --{setting} "
                           f"{'local' if engine == 'ray' else ('unity' if engine == 'builtin' else 'builtin')}: "
                           f"drop {flag} or use --{setting} {engine}")
    assert not (tmp_path / "out").exists()


def test_render_defaults_come_from_the_dataclasses(rdh_main):
    code, out, _ = rdh_main("render-scenes", "--help")
    text = " ".join(out.split())
    assert f"[default: {BuiltinOptions().variant}]" in text and f"[default: {UnityOptions().base_port}]" in text
    assert "by image size" in text                       # sampling defaults: BuiltinOptions.for_size


def test_version(rdh_main):
    assert rdh_main("--version") == (0, f"rdh {__version__}\n", "")
