"""`--executor ray`: each scene a Ray task, for `rdh render-scenes` and `rdh make-composites`.

A task writes its scene folder atomically into the shared output folder, exactly as a local
worker does, so a rerun (or a Ray retry) skips or redoes whole scenes and the bytes are the
same as a local run. A task whose worker process dies (a killed node, out of memory) is
retried by Ray up to --ray-max-retries times. Without --ray-address a local Ray is started for
the run, bound to loopback, with (workers x cpus per scene) CPUs, and stopped at its end. Ray
is the optional extra `rdh[ray]`; it is imported only here.
"""
from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from datagen.render_config import RayOptions, SceneOutcome
from rdhcore.errors import RdhError


def ray_module():
    try:
        import ray
    except ImportError:
        raise RdhError("--executor ray needs Ray: pip install ray, or pip install -e '.[ray]' in "
                       "the rdh checkout, "
                       "or use --executor local") from None
    return ray


@contextmanager
def ray_session(opts: RayOptions, local_cpus: float):
    """Join the cluster at opts.address, reuse a Ray this process already started, or start a
    local one on 127.0.0.1 for the duration."""
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    root = str(Path(__file__).resolve().parents[1])       # workers import datagen the way this process does
    path = [root] + [p for p in sys.path if p and p != root]
    env = {"env_vars": {"PYTHONPATH": ":".join(path)}}
    try:
        if opts.address:
            probe(opts.address, opts.timeout)
            init_within(ray, opts, address=opts.address, runtime_env=env, log_to_driver=False,
                        logging_level=logging.ERROR)
        else:
            ray.init(num_cpus=max(1, int(round(local_cpus))), include_dashboard=False, runtime_env=env,
                     _node_ip_address="127.0.0.1", log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"--ray-address {opts.address}" if opts.address else "a local Ray"
        raise RdhError(f"{where}: Ray did not start ({exc}): check the address, or drop --ray-address") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def probe(address: str, timeout: float) -> None:
    """RdhError when nothing accepts a connection at the address's host:port within `timeout` seconds
    (an unreachable head would have Ray retry for minutes). "auto" and other forms are left to Ray."""
    m = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d+)", address.strip())
    if not m:
        return
    try:
        socket.create_connection((m.group(1), int(m.group(2))), timeout=timeout).close()
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise RdhError(f"--ray-address {address}: nothing answers there within --ray-timeout {timeout:g} s ({reason}): "
                       "start the cluster (ray start --head), check the address, or drop --ray-address") from None


def init_within(ray, opts: RayOptions, **kwargs) -> None:
    """ray.init(**kwargs), given up after opts.timeout seconds (it retries a silent head for minutes):
    RdhError then, so the caller's output lock is released. The waiting thread is a daemon: it does
    not keep the process alive."""
    box: dict = {}

    def connect() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=connect, name="rdh-ray-connect", daemon=True)
    thread.start()
    thread.join(opts.timeout)
    if thread.is_alive():
        raise RdhError(f"--ray-address {opts.address}: Ray did not connect within --ray-timeout {opts.timeout:g} s "
                       "(something answers there, but not a Ray head?): check the address and the cluster, "
                       "or raise --ray-timeout")
    if "error" in box:
        raise box["error"]


def _call(fn, *args):
    return fn(*args)


def map_unordered(fn: Callable, args: Sequence[tuple], opts: RayOptions, local_cpus: float) -> Iterator[tuple[int, object]]:
    """Run fn(*a) for each a as a Ray task; yield (position in args, result or the Ray error) as tasks end."""
    with ray_session(opts, local_cpus) as ray:
        remote = ray.remote(num_cpus=opts.cpus_per_scene, max_retries=opts.max_retries)(_call)
        pending = {remote.remote(fn, *a): k for k, a in enumerate(args)}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    k = pending.pop(ref)
                    try:
                        yield k, ray.get(ref)
                    except ray.exceptions.RayError as exc:  # retries spent, or the task itself failed
                        yield k, exc
        finally:  # a run stopped early: the tasks not finished are cancelled
            for ref in pending:
                with contextlib.suppress(Exception):
                    ray.cancel(ref)


def run_tasks(task, todo: list[int], opts: RayOptions, local_cpus: float, progress, name_of) -> Iterator:
    """Render scenes `todo` with a SceneTask on Ray; yield a SceneOutcome per scene as it ends."""
    for k, result in map_unordered(task, [(i, _no_progress) for i in todo], opts, local_cpus):
        if isinstance(result, Exception):
            result = SceneOutcome(name_of(todo[k]), kind="crash",
                                  error=f"ray task failed after {opts.max_retries} retries: "
                                        f"{type(result).__name__}: {str(result).splitlines()[0]}")
        progress(result.images)
        yield result


def _no_progress(n: int) -> None:
    """Images inside a remote scene are not reported one by one: the scene counts when it ends."""
