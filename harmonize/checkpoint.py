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

import math
import pickle
import zipfile
import zlib
from pathlib import Path

import torch

from harmonize.models import MODEL_NAMES, generator_from_config
from harmonize.normalization import MEAN, STD
from rdhcore.atomic import atomic_path
from rdhcore.errors import RdhError, first_line, short_repr
from rdhcore.files import check_regular

FORMAT = "rdh.checkpoint/1"


def save_checkpoint(payload: dict, path: str | Path) -> Path:
    """Write `payload` to `path` atomically (a crash leaves the previous file whole). The written file
    is read back and its records' CRCs checked before it replaces `path`, so a write that the disk
    damaged never replaces a good checkpoint; a failed write is one RdhError naming the file."""
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            with open(tmp, "wb") as f:  # a file object: the records are named "archive/...", not after tmp
                torch.save(payload, f)
        except RuntimeError as exc:  # torch reports ENOSPC and EFBIG as "file write failed"
            reason = first_line(exc)
            raise RdhError(f"{path}: could not write the checkpoint ({reason[:120]}): the disk may be full or the file "
                           f"too large for its filesystem; free space, then rerun (the previous {path.name} is kept)") from None
        damaged = damaged_record(tmp)
        if damaged is not None:
            raise RdhError(f"{path}: the checkpoint read back damaged ({damaged}): the disk or filesystem failed; "
                           f"check it, then rerun (the previous {path.name} is kept)")
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


def damaged_record(path: str | Path) -> str | None:
    """Why a torch zip checkpoint is damaged (a record whose CRC does not match, an unreadable
    archive), or None when every record reads back as written. One pass over the file: torch.load
    itself checks no CRC, so 16 zeroed bytes in a tensor would load silently."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        return f"unreadable archive: {str(exc)[:80] or type(exc).__name__}"
    return None if bad is None else f"record {bad.rsplit('/', 1)[-1]} fails its CRC check"


def load_checkpoint(path: str | Path, map_location="cpu", model: str | None = None, best: bool = False) -> dict:
    """Read an rdh checkpoint with weights_only=True; `model` (optional) is the model it must hold.

    `path` is a checkpoint file or a run folder (see checkpoint_file). Every record's CRC is checked
    first. RdhError when the file is missing, not a checkpoint, damaged, of another format version,
    of another model, or holds settings that cannot be (check_model_fields).
    """
    path = checkpoint_file(path, best)
    if not path.exists():
        raise RdhError(f"{path}: checkpoint not found: pass a RUN/last.pt or RUN/best.pt written by `rdh train`")
    check_regular(path, "checkpoint file")  # a FIFO would block the reader
    if not zipfile.is_zipfile(path):
        raise RdhError(f"{path}: not a torch checkpoint (truncated or another kind of file): "
                       "pass a last.pt/best.pt written by `rdh train`")
    damaged = damaged_record(path)
    if damaged is not None:
        raise RdhError(f"{path}: damaged checkpoint ({damaged}): use the run's other checkpoint (last.pt/best.pt) "
                       "or retrain")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise RdhError(f"{path}: holds objects other than tensors and plain values, so it was not written by "
                       "`rdh train` (it loads only with weights_only=True): pass an rdh checkpoint") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        reason = first_line(exc)
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
    check_model_fields(ckpt, path)
    return ckpt


def check_model_fields(ckpt: dict, path: str | Path) -> None:
    """RdhError naming the file when the settings inference needs are not what `rdh train` writes:
    image_size a positive whole number, normalization three finite means and three positive stds,
    model_config and generator present (a tampered file is refused like a bad option)."""
    def refuse(what: str) -> None:
        raise RdhError(f"{path}: {what}: the checkpoint is damaged or was edited; use one written by `rdh train`")

    size = ckpt.get("image_size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        refuse(f"image_size {size!r} is not a positive whole number")
    norm = ckpt.get("normalization")
    if norm is not None:
        if not isinstance(norm, dict) or not all(_three_numbers(norm.get(k)) for k in ("mean", "std")):
            refuse(f"normalization {short_repr(norm)} needs mean and std, three finite numbers each")
        if min(norm["std"]) <= 0:
            refuse(f"normalization std {norm['std']!r} holds a value <= 0")
    config = ckpt.get("model_config")
    spec = config.get("spec") if isinstance(config, dict) else None
    if not isinstance(spec, dict) or not all(_whole(spec.get(k), lo, hi) for k, (lo, hi) in SPEC_RANGES.items()
                                              if k in spec or k in ("depth", "width")):
        refuse(f"model_config {short_repr(config)} is not a U-Net's settings (depth 2..16, width 1..4096)")
    if not isinstance(ckpt.get("generator"), dict) or not ckpt["generator"]:
        refuse("it holds no generator weights")
    step = ckpt.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        refuse(f"step {step!r} is not a whole number >= 0")


SPEC_RANGES = {"depth": (2, 16), "width": (1, 4096), "max_channels": (1, 8192), "norm_from": (0, 16)}


def _whole(value, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _three_numbers(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) == 3
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value))


def build_generator_from(ckpt: dict, path: str | Path = "checkpoint") -> torch.nn.Module:
    """The generator of a loaded checkpoint, weights restored (CPU, train mode)."""
    try:
        gen = generator_from_config(ckpt["model_name"], ckpt["model_config"])
        gen.load_state_dict(ckpt["generator"])
    except (KeyError, TypeError, RuntimeError, ValueError, AttributeError) as exc:
        reason = first_line(exc)
        raise RdhError(f"{path}: checkpoint's generator does not load ({reason[:160]}): "
                       "the file is damaged or from an incompatible rdh") from None
    reason = gen.spec.check_image_size(int(ckpt["image_size"])) if hasattr(gen, "spec") else None
    if reason:
        raise RdhError(f"{path}: image_size {ckpt['image_size']}: {reason}: the checkpoint is damaged or was edited; "
                       "use one written by `rdh train`")
    return gen
