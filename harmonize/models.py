"""The registry of harmonization generators: each answers `harmonize(image, mask, domain="real")`
and rebuilds itself from the `model_config` a checkpoint holds (`from_config`)."""
from __future__ import annotations

from torch import nn

from harmonize.blocks import UNetSpec
from harmonize.charmnet import CharmNetGenerator
from harmonize.idih import IDIH

MODELS: dict[str, type[nn.Module]] = {"idih": IDIH, "charmnet": CharmNetGenerator}
MODEL_NAMES = tuple(MODELS)


def generator_from_config(model: str, config: dict) -> nn.Module:
    """The generator `model` built from its settings (a checkpoint's `model_config`)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: use one of {MODEL_NAMES}")
    return MODELS[model].from_config(config)


def build_generator(model: str, spec: UNetSpec, unshared: int = 4) -> nn.Module:
    """A new generator `model` (`unshared`: CharmNet's domain-specific levels; iDIH has none)."""
    return generator_from_config(model, {"spec": spec.to_dict(), "unshared": unshared})
