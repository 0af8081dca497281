"""A throw-away ``redis-server`` for tests: its own port, killable, restartable.

Tests that stop, kill or fill Redis must never touch a shared server; this starts Debian's
``redis-server`` binary on a free loopback port with persistence off, optionally with an ACL
user and password and/or TLS (certificates made with ``cryptography``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One redis-server process. ``url`` is ready once :meth:`start` returns."""

    def __init__(
        self,
        *,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        persist: bool = False,
        appendfsync: str = "always",
        binary: str | None = None,
    ) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RuntimeError(
                "redis-server is not installed: run scripts/ensure-services "
                "(Debian: apt-get install redis-server)"
            )
        self.binary = found
        self.port = port or free_port()
        self.username = username
        self.password = password
        self.tls = tls
        self.persist = persist
        self.appendfsync = appendfsync
        self._dir = Path(tempfile.mkdtemp(prefix="hexbus-redis-"))
        self._process: subprocess.Popen[bytes] | None = None
        if tls:
            self.ca_file = _make_certificates(self._dir)

    @property
    def url(self) -> str:
        """``redis://`` or ``rediss://`` with credentials when set."""
        scheme = "rediss" if self.tls else "redis"
        auth = ""
        if self.password:
            auth = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        return f"{scheme}://{auth}127.0.0.1:{self.port}/0"

    def client(self, **options: object) -> redis.Redis:
        """A redis-py client for this server."""
        if self.tls:
            options.setdefault("ssl_ca_certs", str(self.ca_file))
        return redis.Redis.from_url(self.url, **options)

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart) the server and wait until it answers PING."""
        # persist=True: an append-only file synced on every write (``appendfsync``, default
        # "always"), so even SIGKILL keeps data and a restart reloads it, as a production
        # server configured for durability would; "everysec" may lose about the last second.
        aof = ["yes", "--appendfsync", self.appendfsync] if self.persist else ["no"]
        args = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            *aof,
            "--dir",
            str(self._dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ]
        if self.tls:
            args += [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self._dir / "server.crt"),
                "--tls-key-file",
                str(self._dir / "server.key"),
                "--tls-ca-cert-file",
                str(self.ca_file),
                "--tls-auth-clients",
                "no",
            ]
        else:
            args += ["--port", str(self.port)]
        if self.password and self.username:
            # ACL users can only be given in a config file (the command line does not split).
            config = self._dir / "users.conf"
            config.write_text(
                f"user default off\nuser {self.username} on >{self.password} ~* &* +@all\n"
            )
            args = [self.binary, str(config), *args[1:]]
        elif self.password:
            args += ["--requirepass", self.password]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.client(socket_timeout=0.5).ping():
                    return self
            except redis.RedisError:
                pass
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {err.strip()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server (an abrupt crash; it keeps nothing, persistence is off)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def pause(self) -> None:
        """SIGSTOP the server: it keeps accepting connections (the kernel does) and answers
        nothing, a hung Redis, until :meth:`resume`; then it runs what it was sent meanwhile."""
        if self._process is None or self._process.poll() is not None:
            raise RuntimeError("the server is not running")
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT a server stopped by :meth:`pause`."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server and wait for it."""
        if self._process is not None and self._process.poll() is None:
            self.resume()  # a paused server would not act on SIGTERM
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            shutil.rmtree(self._dir)


def _make_certificates(directory: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1; returns the CA file."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hexbus test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca.public_bytes(pem))
    (directory / "server.crt").write_bytes(cert.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(
            pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return directory / "ca.crt"
