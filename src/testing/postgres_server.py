"""A throw-away PostgreSQL cluster for tests: its own directory, its own port, killable.

Tests must never touch a shared server; this runs Debian's ``initdb`` and ``pg_ctl`` (the
``postgresql`` package, binaries under ``/usr/lib/postgresql/<version>/bin``) in a temporary
directory, listening on a free loopback port, with trust authentication for one user and
durability traded for speed (``fsync=off``: the tests crash clients, never the server).

PostgreSQL refuses to run as root; under root the cluster belongs to the ``postgres`` system
user (Debian's package creates it) and every command runs as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from .redis_server import free_port

USER = "tester"
"""The cluster's superuser, trusted on loopback without a password."""


def find_binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL is not installed: run scripts/ensure-services "
        "(Debian: apt-get install postgresql)"
    )


class PostgresServer:
    """One private PostgreSQL cluster. ``url`` is ready once :meth:`start` returns."""

    def __init__(self, *, port: int | None = None, binaries: Path | None = None) -> None:
        self.binaries = binaries or find_binaries()
        self.port = port or free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="hexbus-postgres-"))
        self.data = self._dir / "data"
        self._owner = _owner()
        if self._owner is not None:
            os.chown(self._dir, self._owner.pw_uid, self._owner.pw_gid)
        self._initialised = False

    @property
    def url(self) -> str:
        """A ``postgresql://`` URL of the cluster's ``postgres`` database."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def database_url(self, database: str) -> str:
        """The URL of another database of this cluster (see :meth:`create_database`)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` and return its URL (one per test keeps tests apart)."""
        self._run(
            str(self.binaries / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            name,
        )
        return self.database_url(name)

    def start(self, timeout: float = 30.0) -> PostgresServer:
        """Create the cluster (once) and start it; returns when it accepts connections."""
        if not self._initialised:
            self._run(
                str(self.binaries / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            )
            self._initialised = True
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(self.binaries / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self._dir / "server.log"),
            "-w",
            "-t",
            str(int(timeout)),
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop the cluster at once (``-m immediate``); a later :meth:`start` restarts it."""
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(
                    str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )

    def log(self) -> str:
        """The server's log, for a failing test's message."""
        path = self._dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _run(self, *command: str) -> None:
        started = time.monotonic()
        result = subprocess.run(
            command,
            user=self._owner.pw_uid if self._owner else None,
            group=self._owner.pw_gid if self._owner else None,
            cwd=self._dir,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(command[0]).name} failed ({result.returncode}) after "
                f"{time.monotonic() - started:.1f}s: {result.stderr.strip() or result.stdout}\n"
                f"{self.log()[-2000:]}"
            )


def _owner() -> pwd.struct_passwd | None:
    """Who owns the cluster: nobody special unless we are root, which PostgreSQL refuses."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")
