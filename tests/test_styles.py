import numpy as np
import pytest

from datagen.styles import (DEFAULT_PHASES, K, STYLES, StyleConfig, format_time, load_style_config,
                            parse_styles, style_by_id)
from rdhcore.errors import RdhError
from manifests.schema import STYLE_NAMES


def test_ten_styles_match_design_table():
    assert K == 10
    assert [s.id for s in STYLES] == list(range(1, 11))
    assert STYLES[0].name == "clear_sunrise_sunset" and STYLES[0].weather == "Clear"
    assert STYLES[4].name == "partly_cloudy_noon" and STYLES[4].phase == "noon"
    assert STYLES[9].name == "night" and STYLES[9].phase == "night"
    assert tuple(s.name for s in STYLES) == STYLE_NAMES  # manifests keeps its own copy


def test_default_phase_grid_covers_day_once():
    cfg = StyleConfig()
    times = {p: set(cfg.grid_times(p).tolist()) for p in DEFAULT_PHASES}
    all_times = set(range(5 * 60, 21 * 60 + 1, 5))
    assert set().union(*times.values()) == all_times
    assert sum(len(t) for t in times.values()) == len(all_times)  # disjoint
    assert 13 * 60 in times["noon"] and 11 * 60 in times["noon"]
    assert 7 * 60 in times["other"] and 17 * 60 + 30 in times["sunrise_sunset"]
    assert 21 * 60 in times["night"] and 5 * 60 + 25 in times["night"]


def test_draw_time_is_seeded_and_in_phase():
    cfg = StyleConfig()
    a = [cfg.draw_time(2, np.random.default_rng(7)) for _ in range(3)]
    b = [cfg.draw_time(2, np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(1)
    for sid in range(1, 11):
        for _ in range(20):
            t = cfg.draw_time(sid, rng)
            assert t % 5 == 0
            assert cfg.phase_of(t) == style_by_id(sid).phase


def test_parse_styles():
    assert parse_styles("all") == list(range(1, 11))
    assert parse_styles("10,2,night") == [2, 10]
    with pytest.raises(RdhError, match="out of range"):
        parse_styles("11")
    with pytest.raises(RdhError, match="unknown style"):
        parse_styles("sunny")


def write(tmp_path, text):
    p = tmp_path / "styles.toml"
    p.write_text(text)
    return p


def test_styles_file_overrides_ranges(tmp_path):
    p = write(tmp_path, 'weathers = ["Clear", "Cloudy"]\n[phases]\nnoon = ["[11:30, 12:30]"]\n'
                        'other = ["[07:00, 11:30)", "(12:30, 17:30)"]\n')
    cfg = load_style_config(p)
    assert [format_time(t) for t in cfg.grid_times("noon")][0] == "11:30"
    assert cfg.grid_times("noon").max() == 12 * 60 + 30
    assert cfg.weathers == ("Clear", "Cloudy")


@pytest.mark.parametrize("text, message", [
    ('[phases]\nnoon = ["[10:55, 13:00]"]\n', "overlap"),
    ('[phases]\nnoon = ["[11:02, 13:00]"]\n', "grid"),
    ('weathers = ["Foggy"]\n', "unknown weather"),
    ('[phases]\ndusk = ["[11:00, 13:00]"]\n', "unknown phase"),
    ('[phases\n', "not valid TOML"),
])
def test_styles_file_is_validated(tmp_path, text, message):
    with pytest.raises(RdhError, match=message) as info:
        load_style_config(write(tmp_path, text))
    assert "styles.toml" in str(info.value)
