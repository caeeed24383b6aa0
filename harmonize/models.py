"""The two harmonization generators by name, built from settings or from a checkpoint's config."""
from __future__ import annotations

from torch import nn

from harmonize.blocks import UNetSpec
from harmonize.charmnet import CharmNetGenerator
from harmonize.idih import IDIH

MODEL_NAMES = ("idih", "charmnet")


def build_generator(model: str, spec: UNetSpec, unshared: int = 4) -> nn.Module:
    if model == "idih":
        return IDIH(spec)
    if model == "charmnet":
        return CharmNetGenerator(spec, unshared=unshared)
    raise ValueError(f"unknown model {model!r}: use one of {MODEL_NAMES}")


def generator_from_config(model: str, config: dict) -> nn.Module:
    """Rebuild a generator from the `model_config` a checkpoint holds."""
    cls = {"idih": IDIH, "charmnet": CharmNetGenerator}[model]
    return cls.from_config(config)
