"""A throwaway PostgreSQL server of the test's own, to stop and start at will.

Restarting the shared test server would break whatever else uses it at that moment
(other test runs on the same machine), so the restart test runs its own server:
`initdb` into a temporary folder, `pg_ctl start` on a free port, trust
authentication on 127.0.0.1 only. As root the server runs as the `postgres` user
(PostgreSQL refuses to run as root). `PrivateServer.find()` gives the reason to skip
when the PostgreSQL server programs are not installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: Seconds any pg_ctl or initdb call may take on a busy machine.
COMMAND_TIMEOUT = 120.0


def _bindir() -> Path | None:
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=30, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for path in candidates:
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateServer:
    """One PostgreSQL cluster in a temporary folder; `close()` stops and removes it."""

    def __init__(self, bindir: Path, prefix: list[str]) -> None:
        self._bindir = bindir
        self._prefix = prefix
        self.root = Path(tempfile.mkdtemp(prefix="eventdeck-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def find(cls) -> tuple[PrivateServer | None, str]:
        """A server ready to `init()`, or None and why not."""
        bindir = _bindir()
        if bindir is None:
            return None, "the PostgreSQL server programs (initdb, pg_ctl) are not installed"
        prefix: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                return None, "running as root without runuser: cannot start PostgreSQL"
            try:
                import pwd

                pwd.getpwnam("postgres")
            except KeyError:
                return None, "running as root and there is no postgres user to run PostgreSQL"
            prefix = [runuser, "-u", "postgres", "--"]
        return cls(bindir, prefix), ""

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._prefix, *args],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )

    def init(self) -> str:
        """initdb and start; '' or the reason it failed."""
        if self._prefix:
            shutil.chown(self.root, user="postgres")
        result = self._run(
            str(self._bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if result.returncode != 0:
            return f"initdb failed: {(result.stderr or result.stdout).strip()[-500:]}"
        return self.start()

    def start(self) -> str:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=50"
        )
        result = self._run(
            str(self._bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        if result.returncode != 0:
            return f"pg_ctl start failed: {(result.stderr or result.stdout).strip()[-500:]}"
        self.wait_ready()
        return ""

    def stop(self) -> None:
        """A fast shutdown: open transactions roll back, sessions are cut."""
        self._run(str(self._bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def is_ready(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(("127.0.0.1", self.port))
            except OSError:
                return False
        ready = shutil.which("pg_isready") or str(self._bindir / "pg_isready")
        probe = subprocess.run(
            [ready, "-q", "-h", "127.0.0.1", "-p", str(self.port)], timeout=30, check=False
        )
        return probe.returncode == 0

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_ready():
            if time.monotonic() > deadline:
                raise AssertionError(f"the private PostgreSQL on port {self.port} did not start")
            time.sleep(0.1)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "server.log").read_text(errors="replace")[-3000:]
        return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
