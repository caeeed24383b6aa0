"""Choosing the Mitsuba variant: LLVM only with a libLLVM of known version >= 16, never 15.

No test here loads LLVM: the libraries are empty stand-in files (or a hand-made ELF header)
whose names and SONAMEs carry the versions.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from datagen.builtin import variant
from datagen.builtin.variant import LLVM, SCALAR, elf_soname, llvm_version, version_from_name
from rdhcore.errors import RdhError


def find_llvm(*args, **kw):
    return variant.find_llvm(*args, loadable=lambda path: True, **kw)     # stand-in files "load"


def choose_variant(*args, **kw):
    return variant.choose_variant(*args, loadable=lambda path: True, **kw)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really a library")
    return path


def fake_elf(path: Path, soname: str) -> Path:
    """A minimal 64-bit little-endian ELF holding only .dynstr and .dynamic with DT_SONAME."""
    dynstr = b"\0" + soname.encode() + b"\0"
    dynamic = struct.pack("<qQ", 14, 1) + struct.pack("<qQ", 0, 0)          # DT_SONAME -> offset 1, DT_NULL
    str_off = 64
    dyn_off = str_off + len(dynstr)
    sh_off = dyn_off + len(dynamic)
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x28, sh_off)
    struct.pack_into("<HH", header, 0x3A, 64, 3)
    null = bytes(64)
    sec_str = struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, str_off, len(dynstr), 0, 0, 1, 0)     # SHT_STRTAB
    sec_dyn = struct.pack("<IIQQQQIIQQ", 0, 6, 0, 0, dyn_off, len(dynamic), 1, 0, 8, 16)  # SHT_DYNAMIC, link 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(header) + dynstr + dynamic + null + sec_str + sec_dyn)
    return path


@pytest.mark.parametrize("name, version", [
    ("libLLVM-15.so.1", 15), ("libLLVM-14.0.6.so.1", 14), ("libLLVM.so.19.1", 19), ("libLLVM-19.so", 19),
    ("libLLVM.18.dylib", 18), ("/usr/lib/llvm-17/lib/libLLVM.so.1", 17), ("libLLVM.so", None), ("libfoo.so.16", None),
])
def test_version_from_name(name, version):
    assert version_from_name(name) == version


def test_version_read_through_symlink_and_soname(tmp_path):
    real = touch(tmp_path / "lib" / "libLLVM.so.19.1")
    link = tmp_path / "lib" / "libLLVM.so"
    os.symlink(real, link)
    assert llvm_version(link) == 19
    elf = fake_elf(tmp_path / "opaque" / "libLLVM.so", "libLLVM-15.so.1")
    assert elf_soname(elf) == "libLLVM-15.so.1"
    assert llvm_version(elf) == 15
    assert elf_soname(touch(tmp_path / "notelf.so")) is None


def test_auto_never_picks_15_and_says_how_to_get_the_fast_path(tmp_path):
    for name in ("libLLVM-14.so.1", "libLLVM-15.so.1"):
        touch(tmp_path / name)
    globs = (str(tmp_path / "libLLVM*.so*"),)
    assert find_llvm(environ={}, globs=globs) is None
    choice = choose_variant("auto", environ={}, globs=globs)
    assert choice.variant == SCALAR and choice.llvm_path is None
    assert "libllvm19" in choice.note and "karellen-llvm-core" in choice.note and "DRJIT_LIBLLVM_PATH" in choice.note and "\n" not in choice.note
    with pytest.raises(RdhError, match="libLLVM 16 or newer"):
        choose_variant("llvm", environ={}, globs=globs)


def test_newest_known_version_wins_and_env_pointing_at_15_is_ignored(tmp_path):
    bad = touch(tmp_path / "env" / "libLLVM-15.so.1")
    touch(tmp_path / "sys" / "libLLVM-16.so.1")
    good = touch(tmp_path / "sys" / "libLLVM.so.19.1")
    touch(tmp_path / "sys" / "libLLVM.so")                     # unknown version: never chosen
    globs = (str(tmp_path / "sys" / "libLLVM*.so*"),)
    choice = choose_variant("auto", environ={variant.ENV_VAR: str(bad)}, globs=globs)
    assert choice.variant == LLVM and Path(choice.llvm_path) == good
    only_unknown = (str(tmp_path / "sys" / "libLLVM.so"),)
    assert choose_variant("auto", environ={}, globs=only_unknown).variant == SCALAR


def test_env_variable_with_a_good_library_is_used(tmp_path):
    lib = touch(tmp_path / "llvm-18" / "lib" / "libLLVM.so.1")
    choice = choose_variant("llvm", environ={variant.ENV_VAR: str(lib)}, globs=())
    assert choice == variant.VariantChoice(LLVM, str(lib))


def test_scalar_is_always_available_and_unknown_names_are_refused():
    assert choose_variant("scalar", environ={}, globs=()).variant == SCALAR
    with pytest.raises(RdhError, match="--variant"):
        choose_variant("cuda", environ={}, globs=())


def test_a_library_that_does_not_load_is_passed_over(tmp_path):
    touch(tmp_path / "libLLVM.so.19.1")                        # named 19, but not a library: dlopen fails
    globs = (str(tmp_path / "libLLVM*.so*"),)
    assert variant.find_llvm(environ={}, globs=globs) is None
    assert variant.choose_variant("auto", environ={}, globs=globs).variant == SCALAR
    assert not variant.loads(str(tmp_path / "libLLVM.so.19.1"))


def test_auto_renders_small_images_in_scalar_even_with_llvm(tmp_path):
    touch(tmp_path / "libLLVM.so.19.1")
    globs = (str(tmp_path / "libLLVM*.so*"),)
    assert choose_variant("auto", environ={}, globs=globs, resolution=64).variant == SCALAR
    assert choose_variant("auto", environ={}, globs=globs, resolution=variant.LLVM_FROM_SIZE).variant == LLVM
    assert choose_variant("llvm", environ={}, globs=globs, resolution=64).variant == LLVM    # asked for: given
