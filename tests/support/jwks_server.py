"""A fault-injecting JWKS server on 127.0.0.1 and RSA signing keys to fill it, for tests.

Serves a JWKS (replaceable at run time: rotation) at ``server.url`` and counts every request. Its
behaviour is switched with ``server.fault = Fault.<kind>(...)`` (``None`` serves normally)::

    key = RsaKey.generate("k1")
    with JwksServer(jwks_of(key)) as server:
        server.fault = Fault.status(503)      # or .slow(2.0), .trickle(0.2), .reset(), .oversized(), ...
        ...
        server.fault = None
        server.jwks = jwks_of(RsaKey.generate("k2"))   # rotation

Independent of ``cognito_authz`` on purpose: it is the yardstick the library is measured against.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import io
import ipaddress
import json
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

__all__ = ["JWKS_PATH", "Fault", "JwksServer", "RsaKey", "b64url_uint", "jwks_of"]

JWKS_PATH = "/.well-known/jwks.json"
#: Paths answered with the JWKS besides JWKS_PATH: redirect targets, so a followed redirect would *work*
#: and a test that asserts "not followed" can fail for real.
ALT_PATH = "/moved/jwks.json"


def b64url_uint(value: int) -> str:
    """Big-endian unsigned integer as unpadded base64url (RFC 7518 §2, Base64urlUInt)."""
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class RsaKey:
    """An RSA key pair with a kid: renders its public JWK and signs like RS256 (PKCS#1 v1.5, SHA-256)."""

    kid: str
    private_key: rsa.RSAPrivateKey
    alg: str = "RS256"

    @classmethod
    def generate(cls, kid: str, *, bits: int = 2048, alg: str = "RS256") -> RsaKey:
        return cls(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits), alg)

    def public_jwk(self, **overrides: Any) -> dict[str, Any]:
        """The public JWK (kid, kty, alg, use, n, e); ``overrides`` replace fields, ``None`` removes one."""
        numbers = self.private_key.public_key().public_numbers()
        jwk: dict[str, Any] = {
            "kid": self.kid,
            "kty": "RSA",
            "alg": self.alg,
            "use": "sig",
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
        }
        for name, value in overrides.items():
            if value is None:
                jwk.pop(name, None)
            else:
                jwk[name] = value
        return jwk

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def jwks_of(*keys: RsaKey | dict[str, Any]) -> dict[str, Any]:
    """A JWKS document of the given keys (an ``RsaKey`` renders its public JWK; a dict goes in as is)."""
    return {"keys": [key.public_jwk() if isinstance(key, RsaKey) else key for key in keys]}


@dataclass(frozen=True)
class Fault:
    """One way to misbehave. Build with the class methods; assign to ``JwksServer.fault``."""

    kind: str
    code: int = 200
    delay: float = 0.0
    interval: float = 0.0
    body: bytes | None = None
    content_type: str = "application/json"
    declare_length: bool = True
    location: str = ""
    after_bytes: int = 0
    size: int = 0

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Sleep ``delay`` seconds before sending anything, then serve the JWKS normally."""
        return cls("slow", delay=delay)

    @classmethod
    def trickle(cls, interval: float, *, headers: bool = False) -> Fault:
        """Send the JWKS one byte every ``interval`` seconds: the body only, or status line and headers
        too (``headers=True``). Each byte arrives well within any per-read timeout; only a total
        deadline stops the client."""
        return cls("trickle_headers" if headers else "trickle", interval=interval)

    @classmethod
    def status(cls, status: int = 503, body: bytes = b'{"message": "unavailable"}') -> Fault:
        """Answer with an HTTP error status (5xx, 404, ...)."""
        return cls("status", code=status, body=body)

    @classmethod
    def html(cls) -> Fault:
        """A 200 with an HTML page (a captive portal, a login page, a misrouted path)."""
        page = b"<!doctype html><html><head><title>Sign in</title></head><body>Hello</body></html>"
        return cls("body", body=page, content_type="text/html; charset=utf-8")

    @classmethod
    def garbage(cls) -> Fault:
        """A 200 with bytes that are no text at all."""
        return cls("body", body=bytes(range(256)) * 4, content_type="application/octet-stream")

    @classmethod
    def truncated(cls) -> Fault:
        """A 200 whose body is the JWKS cut in half, with a Content-Length that matches the cut: a
        complete HTTP exchange carrying broken JSON."""
        return cls("truncated")

    @classmethod
    def not_jwks(cls, document: Any) -> Fault:
        """A 200 with valid JSON that is not a JWKS (``[]``, ``{"keys": {}}``, ``"x"``, ...)."""
        return cls("body", body=json.dumps(document).encode())

    @classmethod
    def raw(cls, body: bytes, content_type: str = "application/json") -> Fault:
        """A 200 with exactly these bytes."""
        return cls("body", body=body, content_type=content_type)

    @classmethod
    def oversized(cls, size: int = (1 << 20) + 1, *, declare_length: bool = True) -> Fault:
        """A 200 with a ``size``-byte body (JSON-looking padding). ``declare_length=False`` omits the
        Content-Length and delimits the body by closing the connection, so only counting bytes while
        reading can catch it."""
        return cls("oversized", size=size, declare_length=declare_length)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Fault:
        """Answer ``status`` with ``Location: location`` (point it at ``server.alt_url`` to make a
        followed redirect succeed)."""
        return cls("redirect", code=status, location=location)

    @classmethod
    def reset(cls, after_bytes: int = 0) -> Fault:
        """Abort the TCP connection with RST (SO_LINGER 0): immediately, or after sending the headers
        and ``after_bytes`` bytes of the JWKS body."""
        return cls("reset", after_bytes=after_bytes)


LOOPBACK = ipaddress.ip_address("127.0.0.1")


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A CA-shaped self-signed certificate for 127.0.0.1 (IP SAN); returns (cert, key) PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())  # fast to generate, unlike RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwks-server test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(LOOPBACK)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: JwksServer
    tls_context: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.tls_context is not None:
            # Handshake later, on the handler's thread: a client that stalls or rejects the certificate
            # must not block the accept loop.
            connection = self.tls_context.wrap_socket(
                connection, server_side=True, do_handshake_on_connect=False
            )
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients in these tests hang up on purpose (deadline, size cap, rejected certificate).
        if isinstance(sys.exc_info()[1], (OSError, ValueError)):
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        # ThreadingMixIn does not keep daemon threads; keep them so close() can join every handler
        # and a test never ends with a handler thread still writing.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="jwks-server-handler",
            daemon=True,
        )
        self.owner._track(thread, request)
        thread.start()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, so a client's connection reuse is exercised too
    disable_nagle_algorithm = True  # http.server otherwise adds ~40 ms to keep-alive responses

    def log_message(self, format: str, *args: Any) -> None:
        return  # tests read counters, not logs

    def do_GET(self) -> None:
        owner = self.server.owner
        fault, body = owner._record(self.path, dict(self.headers.items()))
        try:
            if body is None:
                self._send(404, b'{"message": "not found"}')
            else:
                self._answer(fault, body)
        except OSError:
            # The client gave up (deadline, size cap) and closed its end: expected in these tests.
            self.close_connection = True

    def _answer(self, fault: Fault | None, body: bytes) -> None:
        owner = self.server.owner
        if fault is None:
            self._send(200, body)
        elif fault.kind == "slow":
            if owner._stopping.wait(fault.delay):
                return
            self._send(200, body)
        elif fault.kind == "trickle":
            self._send_headers(200, "application/json", len(body))
            self._trickle(body, fault.interval)
        elif fault.kind == "trickle_headers":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            self._trickle(head.encode() + body, fault.interval)
        elif fault.kind == "status":
            self._send(fault.code, fault.body or b"")
        elif fault.kind == "body":
            self._send(200, fault.body or b"", fault.content_type)
        elif fault.kind == "truncated":
            self._send(200, body[: len(body) // 2])
        elif fault.kind == "oversized":
            self._send_oversized(fault)
        elif fault.kind == "redirect":
            self.send_response(fault.code)
            self.send_header("Location", fault.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault.kind == "reset":
            if fault.after_bytes:
                self._send_headers(200, "application/json", len(body))
                self.wfile.write(body[: fault.after_bytes])
            self._reset()
        else:  # pragma: no cover - a Fault built by hand with an unknown kind
            raise AssertionError(f"unknown fault {fault.kind!r}")

    def _send_headers(self, status: int, content_type: str, length: int | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self._send_headers(status, content_type, len(body))
        self.wfile.write(body)

    def _trickle(self, data: bytes, interval: float) -> None:
        stopping = self.server.owner._stopping
        for i in range(len(data)):
            self.wfile.write(data[i : i + 1])
            if stopping.wait(interval):
                self.close_connection = True
                return

    def _send_oversized(self, fault: Fault) -> None:
        self._send_headers(200, "application/json", fault.size if fault.declare_length else None)
        # Valid-looking JSON so that only the size cap, not a parse error, can reject it.
        prefix = b'{"keys": [], "padding": "'
        chunk = b"A" * 65536
        remaining = fault.size - len(prefix) - 2
        self.wfile.write(prefix)
        while remaining > 0:
            piece = chunk[: min(remaining, len(chunk))]
            self.wfile.write(piece)
            remaining -= len(piece)
        self.wfile.write(b'"}')

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout turns close() into an RST instead of an orderly FIN. The socket
        # only really closes once its makefile() streams are closed too.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rfile.close()
        self.wfile.close()
        self.connection.close()
        # The base class still flushes and closes its streams after do_GET returns.
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()


@dataclass
class _State:
    jwks: dict[str, Any]
    fault: Fault | None = None
    paths: Counter[str] = field(default_factory=Counter)
    headers: list[dict[str, str]] = field(default_factory=list)


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 (ephemeral port) whose behaviour tests switch at run time.

    ``request_count`` counts every request (any path); ``paths`` counts per path; ``headers`` keeps the
    request headers in order. All of them, and ``jwks``/``fault``, are safe to use from any thread.
    """

    def __init__(self, jwks: dict[str, Any] | None = None, *, tls: bool = False) -> None:
        self.tls = tls
        self._tls_dir: Path | None = None
        self._lock = threading.Lock()
        self._state = _State(jwks=jwks if jwks is not None else {"keys": []})
        self._stopping = threading.Event()
        self._threads: list[tuple[threading.Thread, socket.socket]] = []
        self._httpd: _Server | None = None
        self._serve_thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> JwksServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        if self.tls:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="jwks-server-"))
            cert, key = _self_signed_certificate(self._tls_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            httpd.tls_context = context
        self._httpd = httpd
        self._serve_thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="jwks-server", daemon=True
        )
        self._serve_thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop accepting, wake sleeping faults, join every handler thread, close the socket."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        assert self._serve_thread is not None
        self._serve_thread.join(timeout)
        self._shutdown_connections()
        deadline = time.monotonic() + timeout
        for thread in self._handler_threads():
            thread.join(max(0.0, deadline - time.monotonic()))
        self._httpd.server_close()
        self._httpd = None
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None
        leftover = [t for t in self._handler_threads() if t.is_alive()]
        if leftover or self._serve_thread.is_alive():
            raise RuntimeError(f"JwksServer threads still running after close: {leftover}")

    def __enter__(self) -> JwksServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- what tests read and switch --------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The JWKS URL (plain http unless ``tls=True``: a client then needs ``allow_http=True``)."""
        return self.base_url + JWKS_PATH

    @property
    def ca_file(self) -> str:
        """With ``tls=True``: the PEM file to trust (``session.verify = server.ca_file``)."""
        assert self._tls_dir is not None, "not a started TLS server"
        return str(self._tls_dir / "cert.pem")

    @property
    def alt_url(self) -> str:
        """A second URL that also serves the JWKS (a redirect target)."""
        return self.base_url + ALT_PATH

    @property
    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return self._state.jwks

    @jwks.setter
    def jwks(self, document: dict[str, Any]) -> None:
        with self._lock:
            self._state.jwks = document

    @property
    def fault(self) -> Fault | None:
        with self._lock:
            return self._state.fault

    @fault.setter
    def fault(self, fault: Fault | None) -> None:
        with self._lock:
            self._state.fault = fault

    @property
    def request_count(self) -> int:
        with self._lock:
            return sum(self._state.paths.values())

    @property
    def paths(self) -> Counter[str]:
        with self._lock:
            return Counter(self._state.paths)

    @property
    def headers(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self._state.headers)

    def reset_counts(self) -> None:
        with self._lock:
            self._state.paths.clear()
            self._state.headers.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until at least ``count`` requests arrived (for tests that race a client thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.request_count >= count:
                return True
            time.sleep(0.005)
        return self.request_count >= count

    # -- internals -------------------------------------------------------------------------------

    def _record(self, path: str, headers: dict[str, str]) -> tuple[Fault | None, bytes | None]:
        """Count one request; return the fault in force and the JWKS body for this path (None: 404)."""
        with self._lock:
            self._state.paths[path] += 1
            self._state.headers.append(headers)
            fault = self._state.fault
            jwks = self._state.jwks
        route = path.split("?", 1)[0]
        if route not in (JWKS_PATH, ALT_PATH):
            return None, None
        # The alternate path always answers normally, so a followed redirect would succeed.
        return (fault if route == JWKS_PATH else None), json.dumps(jwks).encode()

    def _track(self, thread: threading.Thread, connection: socket.socket) -> None:
        with self._lock:
            self._threads = [(t, c) for t, c in self._threads if t.is_alive() or not t.ident]
            self._threads.append((thread, connection))

    def _handler_threads(self) -> list[threading.Thread]:
        with self._lock:
            return [t for t, _ in self._threads]

    def _shutdown_connections(self) -> None:
        """Wake handlers blocked reading the next keep-alive request: they see EOF and end."""
        with self._lock:
            connections = [c for _, c in self._threads]
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                # socket.socket's own method: SSLSocket.shutdown would also unwrap TLS under the handler.
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
