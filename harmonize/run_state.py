"""What a run's checkpoint holds beyond the generator, and putting it back on resume.

last.pt and best.pt (harmonize.checkpoint's format) also carry the other networks, the optimizer
states, where each data stream stands, and the torch, CUDA, numpy and Python RNG
states: with them a resumed run continues bit for bit where an uninterrupted one would be.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from harmonize.checkpoint import model_payload
from harmonize.data import DomainStream
from harmonize.train_config import TrainConfig, config_to_dict
from rdhcore import __version__
from rdhcore.errors import RdhError


def rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


def load_weights(step, ckpt: dict, path: Path) -> None:
    """Model weights of a checkpoint into the step's modules (RdhError when they do not fit)."""
    for name, module in step.modules().items():
        state = ckpt.get(name)
        if module is None or state is None:
            continue
        try:
            module.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise RdhError(f"{path}: its {name} does not fit this model ({first[:140]}): "
                           "use the same --depth/--width/--unshared/--norm as the run that wrote it") from None


def run_payload(cfg: TrainConfig, step, step_count: int, streams: dict[str, DomainStream], best: dict,
                world: int) -> dict:
    """The checkpoint of the run at optimizer step `step_count`."""
    payload = model_payload(step.generator, cfg.model, cfg.image_size)
    for name, module in step.modules().items():
        if name != "generator":
            payload[name] = None if module is None else {k: v.detach().cpu() for k, v in module.state_dict().items()}
    payload["optimizers"] = {k: (None if o is None else o.state_dict()) for k, o in step.optimizers().items()}
    payload["step"] = step_count
    payload["streams"] = {d: s.state() for d, s in streams.items()}
    payload["rng"] = rng_state()
    payload["best"] = dict(best)
    payload["config"] = config_to_dict(cfg)
    payload["world_size"] = world
    payload["rdh_version"] = __version__
    return payload


def restore_run(step, streams: dict[str, DomainStream], ckpt: dict, path: Path) -> tuple[int, dict | None]:
    """Put a checkpoint's weights, optimizer states, stream positions and RNG states back;
    returns (its step, its best record)."""
    load_weights(step, ckpt, path)
    try:
        for name, opt in step.optimizers().items():
            if opt is not None and ckpt["optimizers"].get(name) is not None:
                opt.load_state_dict(ckpt["optimizers"][name])
        for d, s in streams.items():
            s.restore(ckpt["streams"][d])
        set_rng_state(ckpt["rng"])
        return int(ckpt["step"]), ckpt.get("best")
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        raise RdhError(f"{path}: its training state does not fit this run ({type(exc).__name__}: {str(exc)[:100]}): "
                       f"the file is damaged or from another rdh; start a new run with --init-from {path}") from None
