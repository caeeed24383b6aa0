"""Ports and addresses: one port per worker, loopback unless asked otherwise."""
from __future__ import annotations

import ipaddress
import socket

EDITOR_PORT = 5004          # the port a Unity Editor in Play mode connects to
DEFAULT_BASE_PORT = 5005    # worker w of a player build listens on base + w
LOOPBACK = "127.0.0.1"


def worker_port(base_port: int, worker: int) -> int:
    """The port of worker `worker`."""
    return int(base_port) + int(worker)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def grpc_address(address: str, port: int) -> str:
    """host:port as gRPC wants it (IPv6 literals in brackets)."""
    host = address.strip()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{int(port)}"


def port_is_free(address: str, port: int) -> bool:
    """Whether a TCP server could bind (address, port) now."""
    family = socket.AF_INET6 if ":" in address.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # As gRPC does: connections of a closed server in TIME_WAIT must not make its port look busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address.strip("[]"), int(port)))
        except OSError:
            return False
    return True


def find_free_base_port(count: int = 1, address: str = LOOPBACK, start: int = 0) -> int:
    """A base port p such that p .. p+count-1 are all free on address (for tests and benchmarks).

    With start=0 the kernel proposes a port, so parallel test runs rarely collide.
    """
    for _ in range(200):
        if start:
            base, start = start, start + count
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((address, 0))
                base = s.getsockname()[1]
        if base + count < 65536 and all(port_is_free(address, base + k) for k in range(count)):
            return base
    raise OSError(f"no {count} consecutive free ports found on {address}")
