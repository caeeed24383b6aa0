"""The built-in engine's sampling defaults per image size (BuiltinOptions.for_size)."""
from __future__ import annotations

from pathlib import Path

from datagen.render import render_options
from datagen.render_config import SIZE_DEFAULTS, BuiltinOptions, RenderConfig, check_config


def test_each_size_takes_its_row_and_given_options_win():
    for largest, spp, sampler, denoise, guides in SIZE_DEFAULTS:
        got = BuiltinOptions().for_size(largest)
        assert (got.spp, got.sampler, got.denoise, got.guides) == (spp, sampler, denoise, guides)
    small, big = BuiltinOptions().for_size(64), BuiltinOptions().for_size(256)
    assert (small.spp, big.spp) == (24, 12) and small.sampler == big.sampler == "multijitter"
    assert small.denoise and big.denoise and not small.guides and not big.guides
    given = BuiltinOptions(spp=8, sampler="independent", denoise=False).for_size(64)
    assert (given.spp, given.sampler, given.denoise, given.guides) == (8, "independent", False, False)
    assert BuiltinOptions().for_size(100000).spp == SIZE_DEFAULTS[-1][1]


def test_a_run_records_the_sampling_it_used():
    cfg = RenderConfig(out=Path("unused"), resolution=64, spp=None)
    check_config(cfg)                                     # unset options are checked at their defaults
    from dataclasses import replace

    opts = render_options(replace(cfg, builtin=cfg.builtin.for_size(cfg.resolution)))
    assert (opts["spp"], opts["sampler"], opts["denoise"], opts["guides"]) == (24, "multijitter", True, False)
