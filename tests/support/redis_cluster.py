"""A real Redis Cluster on loopback: three masters and a replica each, on free ports, for a test
session (``COMMENTS_TEST_REDIS=cluster`` runs the whole suite against one: tests/conftest.py) or for
the tests of the cluster itself (tests/integration/test_redis_cluster.py).

The servers are ``redis-server --cluster-enabled yes`` processes joined by ``redis-cli --cluster
create``; a failed node is promoted over after ``--cluster-node-timeout`` (2 s here). Each server
is stopped by its pid.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NODE_TIMEOUT_MS = 2000


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(n: int) -> list[int]:
    """``n`` consecutive ports, each with its cluster bus port (+10000) free too."""
    for _ in range(200):
        base = random.randrange(20000, 29000)
        ports = list(range(base, base + n))
        if all(_free(p) and _free(p + 10000) for p in ports):
            return ports
    raise RuntimeError("no free loopback ports for a Redis Cluster")


def _cli(port: int, *args: str, timeout: float = 5.0) -> str:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True,
                          text=True, timeout=timeout, check=False).stdout


class RedisClusterProcesses:
    """Six ``redis-server`` processes: masters on the first three ports, replicas on the rest."""

    def __init__(self, masters: int = 3) -> None:
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            raise RuntimeError("a Redis Cluster needs redis-server and redis-cli (apt-get install redis-server)")
        self.ports = _free_ports(2 * masters)
        self.masters = masters
        self.dir = Path(tempfile.mkdtemp(prefix="cs-test-redis-cluster-"))
        self.pids: dict[int, int] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports[:self.masters])

    def start(self) -> RedisClusterProcesses:
        atexit.register(self.stop)  # daemonized servers outlive a run that ends without its teardown
        for port in self.ports:
            self._start_node(port)
        out = subprocess.run(["redis-cli", "--cluster", "create",
                              *(f"127.0.0.1:{p}" for p in self.ports), "--cluster-replicas", "1", "--cluster-yes"],
                             capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout}{out.stderr}")
        self.wait_ok()
        self.wait_replicas()
        return self

    def _start_node(self, port: int) -> None:
        node = self.dir / str(port)
        node.mkdir(exist_ok=True)
        subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                        "--cluster-config-file", str(node / "nodes.conf"), "--dir", str(node), "--save", "",
                        "--appendonly", "no", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                        "--repl-diskless-sync-delay", "0",
                        "--daemonize", "yes", "--pidfile", str(node / "pid"), "--logfile", str(node / "log")],
                       check=True, timeout=10)
        pidfile = node / "pid"
        for _ in range(200):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            time.sleep(0.02)
        self.pids[port] = int(pidfile.read_text())

    def wait_ok(self, timeout: float = 30.0, ports: list[int] | None = None) -> None:
        """Until every live node says cluster_state:ok and every slot is served."""
        deadline = time.monotonic() + timeout
        ports = ports or [p for p in self.ports if p in self.pids]
        while time.monotonic() < deadline:
            infos = [_cli(p, "cluster", "info") for p in ports]
            if all("cluster_state:ok" in i and "cluster_slots_ok:16384" in i for i in infos):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")

    def wait_replicas(self, timeout: float = 30.0) -> None:
        """Until every replica has its master's data (one that never synced cannot take over)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [_cli(p, "info", "replication") for p in self.pids]
            if all("role:master" in i or "master_link_status:up" in i for i in infos):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster's replicas did not sync")

    def master_of(self, key: str) -> int:
        """The port of the master now serving ``key``'s slot."""
        slot = int(_cli(self.ports[0], "cluster", "keyslot", key).strip())
        for line in _cli(next(p for p in self.ports if p in self.pids), "cluster", "nodes").splitlines():
            fields = line.split()
            if "master" in fields[2] and "fail" not in fields[2]:
                for span in fields[8:]:
                    first, _, last = span.partition("-")
                    if first.isdigit() and int(first) <= slot <= int(last or first):
                        return int(fields[1].split(":")[1].split("@")[0])
        raise LookupError(f"no master serves slot {slot}")

    def kill(self, port: int) -> None:
        """Kill one node (SIGKILL: no goodbye to the others)."""
        pid = self.pids.pop(port)
        os.kill(pid, signal.SIGKILL)

    def restart(self, port: int) -> None:
        """Bring a killed node back (it rejoins as a replica of whoever took over its slots)."""
        self._start_node(port)

    def stop(self) -> None:
        for port, pid in list(self.pids.items()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            self.pids.pop(port)
        shutil.rmtree(self.dir, ignore_errors=True)


def cluster_wanted() -> bool:
    """``COMMENTS_TEST_REDIS=cluster``: the run's Redis is a cluster of its own (tests/conftest.py)."""
    return os.environ.get("COMMENTS_TEST_REDIS", "").lower() == "cluster"


def route_test_clients() -> None:
    """Tests open their own clients with ``redis.asyncio.Redis.from_url(storage.redis_url)`` to look
    at what the service stored; on a cluster run that URL is a ``redis+cluster://`` one, which those
    calls hand to the service's own client factory (a cluster client) instead. The service itself
    never calls ``from_url`` with it (comments_service/redis_cluster.py)."""
    import redis.asyncio as aioredis

    from comments_service.redis_cluster import client_from_url, is_cluster_url

    plain = aioredis.Redis.from_url.__func__  # type: ignore[attr-defined]

    def from_url(cls, url: str, **kwargs):
        return client_from_url(url, **kwargs) if is_cluster_url(url) else plain(cls, url, **kwargs)

    aioredis.Redis.from_url = classmethod(from_url)  # type: ignore[method-assign,assignment]
    module_from_url = aioredis.from_url

    def any_from_url(url: str, **kwargs):
        return client_from_url(url, **kwargs) if is_cluster_url(url) else module_from_url(url, **kwargs)

    aioredis.from_url = any_from_url

