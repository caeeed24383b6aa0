"""Whether the optional Unity extra (`pip install -e '.[unity]'` in the rdh checkout) is installed and usable here.

mlagents-envs 0.28.0 (the Python side of com.unity.ml-agents 2.x) imports `distutils`, which
Python 3.12 removed, calls `np.bool`, which numpy 1.24..1.26 lack (numpy 2 has it again), and
needs protobuf <= 3.20.3. The core of rdh needs none of it, so it is an extra, and
`--engine unity` checks it before anything starts. rdh is installed from its checkout (it is not
on PyPI, where the name may belong to someone else), so the messages say to install from there.
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable

from rdhcore.errors import RdhError

INSTALL = "in the rdh checkout, run pip install -e '.[unity]'"


def require_unity_extra(python: tuple[int, int] = tuple(sys.version_info[:2]),
                        importer: Callable[[str], object] = importlib.import_module) -> None:
    """RdhError, in one line saying what to install, unless mlagents_envs can drive a player here."""
    if python >= (3, 12):
        raise RdhError(f"--engine unity needs mlagents-envs 0.28.0, which runs on Python 3.10 and 3.11 only "
                       f"(this is Python {python[0]}.{python[1]}): make a Python 3.11 environment and, {INSTALL}")
    try:
        importer("mlagents_envs.environment")
        numpy = importer("numpy")
    except ImportError as exc:
        raise RdhError(f"--engine unity needs the Unity extra (mlagents-envs 0.28.0, numpy>=2, protobuf<=3.20.3; "
                       f"Python < 3.12), which is not installed or broken ({exc}): {INSTALL}") from None
    except TypeError as exc:  # protobuf 4 or later refuses mlagents-envs' generated code
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RdhError(f"--engine unity: mlagents-envs 0.28.0 cannot load with the installed protobuf ({first}): "
                       f"{INSTALL} (it brings protobuf<=3.20.3; tensorboard 2.21+ needs a newer one: use "
                       "tensorboard<2.21 in the same environment)") from None
    version = str(getattr(numpy, "__version__", "0"))
    if int(version.split(".")[0]) < 2:
        raise RdhError(f"--engine unity: mlagents-envs 0.28.0 calls np.bool, which numpy {version} lacks: "
                       f"{INSTALL} (it brings numpy>=2)")
