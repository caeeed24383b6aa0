"""Training checkpoints (`rdh.checkpoint/1`): write atomically, load safely, rebuild the generator
(harmonize.inference.load_harmonizer makes a ready Harmonizer of one).

A checkpoint is a plain dict of tensors and primitive values, so `torch.load(weights_only=True)`
reads it:

    format        "rdh.checkpoint/1"
    model_name    "idih" | "charmnet"
    model_config  the generator's settings (harmonize.models.generator_from_config)
    image_size    the training size (square)
    normalization {"mean": [3 floats], "std": [3 floats]}   applied to RGB in [0, 1]
    generator     the generator's state_dict
    discriminator, style_in, style_out   state_dicts (CharmNet) or None (iDIH)
    optimizers    {"G": ..., "D": ... or None}
    scaler        (runs saved before 0.1.0's cleanup) a disabled AMP grad scaler's state; ignored
    step          optimizer steps done
    streams       {domain: {"epoch", "batches", "world_size"}}: where each training loader stands
    rng           {"torch", "cuda", "numpy", "python"}: random states at the save
    best          {"metric", "value", "step"}
    config        the TrainConfig as plain values
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from harmonize.models import MODEL_NAMES, generator_from_config
from harmonize.normalization import MEAN, STD
from rdhcore.atomic import atomic_path
from rdhcore.errors import RdhError

FORMAT = "rdh.checkpoint/1"


def save_checkpoint(payload: dict, path: str | Path) -> Path:
    """Write `payload` to `path` atomically (a crash leaves the previous file whole)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def model_payload(generator: torch.nn.Module, model_name: str, image_size: int) -> dict:
    """The part of a checkpoint that inference needs; `rdh train` adds the training state.

    save_checkpoint(model_payload(IDIH(spec), "idih", 256), "x.pt") makes a loadable checkpoint.
    """
    raw = getattr(generator, "_orig_mod", generator)  # unwrap torch.compile
    raw = getattr(raw, "module", raw)                # unwrap DistributedDataParallel
    return {
        "format": FORMAT,
        "model_name": model_name,
        "model_config": raw.config(),
        "image_size": int(image_size),
        "normalization": {"mean": list(MEAN), "std": list(STD)},
        "generator": {k: v.detach().cpu() for k, v in raw.state_dict().items()},
        "step": 0,
    }


def checkpoint_file(path: str | Path, best: bool = False) -> Path:
    """The file to load: `path` itself, or for a run folder RUN/last.pt (RUN/best.pt with best).

    last.pt is the default because best.pt is chosen on validation rows: a number reported from it
    depends on that choice (docs/reproduce.md).
    """
    path = Path(path)
    if not path.is_dir():
        if best:
            raise RdhError(f"--best picks RUN/best.pt of a run folder, but {path} is a file: "
                           "pass the run folder, or drop --best")
        return path
    name = "best.pt" if best else "last.pt"
    if not (path / name).is_file():
        other = "last.pt" if best else "best.pt"
        hint = f" (it has {other}: {'drop' if best else 'add'} --best)" if (path / other).is_file() else ""
        raise RdhError(f"{path}: the run folder has no {name}{hint}: pass a checkpoint file or a folder written by `rdh train`")
    return path / name


def load_checkpoint(path: str | Path, map_location="cpu", model: str | None = None, best: bool = False) -> dict:
    """Read an rdh checkpoint with weights_only=True; `model` (optional) is the model it must hold.

    `path` is a checkpoint file or a run folder (see checkpoint_file). RdhError when the file is
    missing, not a checkpoint, corrupt, of another format version or of another model.
    """
    path = checkpoint_file(path, best)
    if not path.is_file():
        raise RdhError(f"{path}: checkpoint not found: pass a RUN/last.pt or RUN/best.pt written by `rdh train`")
    if not zipfile.is_zipfile(path):
        raise RdhError(f"{path}: not a torch checkpoint (truncated or another kind of file): "
                       "pass a last.pt/best.pt written by `rdh train`")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise RdhError(f"{path}: holds objects other than tensors and plain values, so it was not written by "
                       "`rdh train` (it loads only with weights_only=True): pass an rdh checkpoint") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RdhError(f"{path}: corrupt checkpoint ({reason[:120]}): "
                       "use the run's other checkpoint (last.pt/best.pt) or retrain") from None
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise RdhError(f"{path}: not an rdh checkpoint (no format field): pass a last.pt/best.pt written by `rdh train`")
    if ckpt["format"] != FORMAT:
        raise RdhError(f"{path}: checkpoint format {ckpt['format']!r}, this rdh reads {FORMAT!r}: "
                       "retrain with this rdh or use the rdh version that wrote it")
    name = ckpt.get("model_name")
    if name not in MODEL_NAMES:
        raise RdhError(f"{path}: checkpoint holds an unknown model {name!r}: expected one of {MODEL_NAMES}")
    if model is not None and name != model:
        raise RdhError(f"{path}: checkpoint holds a {name} model, not {model}: "
                       f"pass a {model} checkpoint or use --model {name}")
    return ckpt


def build_generator_from(ckpt: dict, path: str | Path = "checkpoint") -> torch.nn.Module:
    """The generator of a loaded checkpoint, weights restored (CPU, train mode)."""
    try:
        gen = generator_from_config(ckpt["model_name"], ckpt["model_config"])
        gen.load_state_dict(ckpt["generator"])
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RdhError(f"{path}: checkpoint's generator does not load ({reason[:160]}): "
                       "the file is damaged or from an incompatible rdh") from None
    return gen
