"""Which Mitsuba variant to render with: `scalar_rgb` everywhere, `llvm_ad_rgb` when it is safe.

Dr.Jit's LLVM backend needs libLLVM 16 or newer; loading libLLVM 15 aborts the whole process,
and Dr.Jit on its own globs /usr/lib/<arch>/libLLVM*.so.* and may pick 14 or 15. So the LLVM
variant is only ever activated after this module found a library of a known version >= 16 and
pinned it in DRJIT_LIBLLVM_PATH. Nothing here imports Mitsuba or Dr.Jit except `activate`.

Besides the system folders, the Python environment's own lib/ is searched: `pip install
karellen-llvm-core` (or `rdh[llvm]`) puts a libLLVM 23 there, with its libc++ beside it, and
Dr.Jit runs on it. A library is only chosen once it loads (its version read from its name first:
a library named 15 is never loaded).
"""
from __future__ import annotations

import ctypes
import glob
import os
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from rdhcore.errors import RdhError

MIN_LLVM = 16
LLVM_FROM_SIZE = 192   # --variant auto renders smaller images in scalar: llvm's kernel compiles cost more there
SCALAR = "scalar_rgb"
LLVM = "llvm_ad_rgb"
ENV_VAR = "DRJIT_LIBLLVM_PATH"
FAST_PATH_HINT = (f"for faster renders at 256 px and above pip install karellen-llvm-core or apt-get install "
                  f"libllvm19 (or set {ENV_VAR} to a libLLVM {MIN_LLVM}+ file); --variant auto then uses it")

# Where distributions put libLLVM (Debian/Ubuntu multiarch, llvm-N trees, Fedora, Homebrew).
SEARCH_GLOBS = (
    "/usr/lib/x86_64-linux-gnu/libLLVM*.so*",
    "/usr/lib/aarch64-linux-gnu/libLLVM*.so*",
    "/usr/lib/llvm-*/lib/libLLVM*.so*",
    "/usr/lib64/libLLVM*.so*",
    "/usr/lib64/llvm*/lib*/libLLVM*.so*",
    "/usr/local/lib/libLLVM*.so*",
    "/opt/homebrew/opt/llvm/lib/libLLVM*.dylib",
    "/usr/local/opt/llvm/lib/libLLVM*.dylib",
    os.path.join(sys.prefix, "lib", "libLLVM*.so*"),        # a wheel's (karellen-llvm-core)
)


@dataclass(frozen=True)
class LlvmLib:
    path: str
    version: int | None   # major version, None when it could not be read


@dataclass(frozen=True)
class VariantChoice:
    variant: str                  # SCALAR or LLVM
    llvm_path: str | None = None  # the libLLVM pinned for LLVM
    note: str = ""                # one line for the user (why not LLVM, and how to get it)


# --- version detection -------------------------------------------------------------------------

_NAME_PATTERNS = (
    re.compile(r"libLLVM-(\d+)(?:[.\d]*)\.(?:so|dylib)"),   # libLLVM-15.so.1, libLLVM-14.0.6.so.1
    re.compile(r"libLLVM\.so\.(\d+)"),                      # libLLVM.so.19.1
    re.compile(r"libLLVM\.(\d+)(?:\.\d+)*\.dylib"),         # libLLVM.19.dylib
)
_DIR_PATTERN = re.compile(r"llvm-?(\d+)")                   # /usr/lib/llvm-19/lib/libLLVM.so.1


def version_from_name(path: str | Path) -> int | None:
    """The LLVM major version written in a library's file name or its llvm-N folder, else None."""
    name = Path(path).name
    for pat in _NAME_PATTERNS:
        m = pat.fullmatch(name) or pat.match(name)
        if m and int(m.group(1)) >= 3:      # libLLVM.so.1 (llvm-N trees) is an ABI number, not a version
            return int(m.group(1))
    for part in reversed(Path(path).parent.parts):
        m = _DIR_PATTERN.fullmatch(part)
        if m:
            return int(m.group(1))
    return None


def elf_soname(path: str | Path) -> str | None:
    """The DT_SONAME of a 64-bit little-endian ELF shared library, or None (not ELF, unreadable)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
                return None
            shoff, = struct.unpack_from("<Q", head, 0x28)
            shentsize, shnum = struct.unpack_from("<HH", head, 0x3A)
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            sections = [struct.unpack_from("<IIQQQQIIQQ", table, i * shentsize) for i in range(shnum)]
            dynamic = next((s for s in sections if s[1] == 6), None)           # SHT_DYNAMIC
            if dynamic is None:
                return None
            strtab = sections[dynamic[6]]                                        # sh_link -> .dynstr
            f.seek(dynamic[4])
            dyn = f.read(dynamic[5])
            f.seek(strtab[4])
            strings = f.read(strtab[5])
        for i in range(0, len(dyn) - 15, 16):
            tag, val = struct.unpack_from("<qQ", dyn, i)
            if tag == 0:
                break
            if tag == 14:                                                        # DT_SONAME
                return strings[val:strings.index(b"\0", val)].decode("ascii", "replace")
    except (OSError, struct.error, ValueError, IndexError):
        return None
    return None


def llvm_version(path: str | Path) -> int | None:
    """The major version of a libLLVM file: from its resolved name, its folder, or its SONAME."""
    for candidate in (Path(path), Path(os.path.realpath(path))):
        v = version_from_name(candidate)
        if v is not None:
            return v
    soname = elf_soname(os.path.realpath(path))
    return version_from_name(soname) if soname else None


# --- finding a usable library ------------------------------------------------------------------

def candidates(environ: dict | None = None, globs: tuple[str, ...] | None = None) -> list[LlvmLib]:
    """Every libLLVM found: DRJIT_LIBLLVM_PATH first, then the usual system folders."""
    environ = os.environ if environ is None else environ
    globs = SEARCH_GLOBS if globs is None else globs
    paths: list[str] = []
    if environ.get(ENV_VAR):
        paths.append(environ[ENV_VAR])
    for pattern in globs:
        paths.extend(sorted(glob.glob(pattern)))
    seen, out = set(), []
    for p in paths:
        real = os.path.realpath(p)
        if real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        out.append(LlvmLib(p, llvm_version(p)))
    return out


def loads(path: str) -> bool:
    """Whether a libLLVM of version >= 16 (by its name) loads here and says it is >= 16 itself.
    A wheel's library needs the libc++ beside it, linked in at its first Python start."""
    try:
        lib = ctypes.CDLL(path)
        major, minor, patch = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        lib.LLVMGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))   # LLVM 16+ only
    except (OSError, AttributeError):
        return False
    return major.value >= MIN_LLVM


def find_llvm(environ: dict | None = None, globs: tuple[str, ...] | None = None, loadable=loads) -> LlvmLib | None:
    """The newest libLLVM of known version >= 16 that loads, or None. A library of unknown version
    is never picked (nor loaded): it could be 15."""
    good = [c for c in candidates(environ, globs) if c.version is not None and c.version >= MIN_LLVM]
    return next((c for c in sorted(good, key=lambda c: -c.version) if loadable(c.path)), None)


def choose_variant(requested: str, environ: dict | None = None, globs: tuple[str, ...] | None = None,
                   loadable=loads, resolution: int | None = None) -> VariantChoice:
    """Resolve --variant auto|scalar|llvm (auto: scalar below LLVM_FROM_SIZE px, where compiling
    llvm's kernels costs more than it saves); RdhError when llvm is asked for and is not safe."""
    if requested == "scalar" or (requested == "auto" and resolution is not None and resolution < LLVM_FROM_SIZE):
        return VariantChoice(SCALAR)
    if requested not in ("auto", "llvm"):
        raise RdhError(f"--variant {requested!r}: use auto, scalar or llvm")
    lib = find_llvm(environ, globs, loadable)
    if lib is not None:
        return VariantChoice(LLVM, lib.path)
    found = candidates(environ, globs)
    seen = ", ".join(f"{Path(c.path).name} ({c.version or 'unknown version'})" for c in found) or "none"
    if requested == "llvm":
        raise RdhError(f"--variant llvm needs libLLVM {MIN_LLVM} or newer (found: {seen}): apt-get install "
                       f"libllvm19 or set {ENV_VAR} to a libLLVM {MIN_LLVM}+ file, or use --variant scalar")
    return VariantChoice(SCALAR, note=f"rendering with the scalar variant (libLLVM >= {MIN_LLVM} not found; "
                                      f"found: {seen}); {FAST_PATH_HINT}")


def activate(choice: VariantChoice) -> None:
    """Set the Mitsuba variant in this process; for LLVM pin the library first."""
    if choice.variant == LLVM:
        if not choice.llvm_path:
            raise RdhError("the LLVM variant needs a libLLVM path: use --variant auto")
        os.environ[ENV_VAR] = choice.llvm_path  # Dr.Jit reads it when its LLVM backend starts
    import mitsuba as mi

    if mi.variant() != choice.variant:
        mi.set_variant(choice.variant)
