"""The bounded HTTP fetch of a JWKS document, and the strict JSON reading of any JWKS source.

:class:`~cognito_authz.jwks.JwksCache` fetches through :class:`HttpFetcher` unless given its own
fetcher (docs/verifier.md, "The JWKS cache"): a total deadline over every phase (DNS, connect, TLS,
headers, body), a response size cap, no redirects, HTTPS only unless plain HTTP is explicitly allowed
(local issuers, moto). ``requests`` is imported only when a fetch actually happens, so a Lambda that
loads its keys from a bundled file never pays for it.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn

from cognito_authz.errors import ConfigError, JwksError

if TYPE_CHECKING:
    import requests

__all__ = ["DEFAULT_FETCH_TIMEOUT", "DEFAULT_MAX_BYTES", "HttpFetcher", "check_duration", "loads_strict"]

DEFAULT_FETCH_TIMEOUT = 3.0
DEFAULT_MAX_BYTES = 1 << 20
_CHUNK = 16 * 1024


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # {"n": A, "n": B}: which modulus counts would depend on the parser; refuse the document.
        raise ValueError("duplicate key in JSON object")
    return obj


def loads_strict(raw: str | bytes) -> Any:
    """``json.loads`` without NaN/Infinity and without duplicate keys, as :class:`JwksError`."""
    try:
        return json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_object_without_duplicates)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise JwksError(f"JWKS is not valid JSON ({type(exc).__name__})", reason="jwks_invalid") from exc


def check_duration(name: str, value: Any, *, positive: bool = False, finite: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{name} must be {'positive' if positive else 'non-negative'}, got {value!r}")
    if finite and math.isinf(value):
        raise ConfigError(f"{name} must be finite")
    return float(value)


class _Attempt:
    """What one fetch worker produced, shared with the caller that waits for it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.abandoned = False
        self.response: requests.Response | None = None
        self.body: bytes | None = None
        self.error: JwksError | None = None

    def abandon(self) -> None:
        """The caller gave up at its deadline: wake the worker if it is blocked reading the body."""
        with self.lock:
            self.abandoned = True
            response = self.response
        if response is None:
            return  # still connecting or reading headers: the per-read timeout ends the worker
        connection = getattr(getattr(response, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        import socket  # only after an abandoned fetch: not on the cold-start path

        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: the worker is finishing anyway
                # The plain-socket method even for TLS: SSLSocket.shutdown would also drop its SSL
                # object under the worker's feet. The worker's read returns and it closes the response.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class HttpFetcher:
    """Bounded HTTP fetch with ``requests``: total deadline, size cap, no redirects, HTTPS by default.

    Pass ``session`` for proxies, a custom CA bundle or connection reuse across verifiers; without one,
    each fetch uses (and closes) its own short-lived session, so nothing stays open between the rare
    fetches. The deadline covers the whole exchange: the request runs on a helper thread and the caller
    stops waiting at ``timeout`` even if the server trickles its answer a byte at a time.
    """

    def __init__(
        self,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        allow_http: bool = False,
    ) -> None:
        self.timeout = check_duration("timeout", timeout, positive=True, finite=True)
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ConfigError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        self._session = session
        self.max_bytes = max_bytes
        self.allow_http = allow_http

    def __call__(self, uri: str) -> Any:
        if not isinstance(uri, str) or not (
            uri.startswith("https://") or (self.allow_http and uri.startswith("http://"))
        ):
            raise JwksError(
                "JWKS URI must be https:// (pass allow_http=True for a local issuer)",
                reason="jwks_insecure_uri",
            )
        deadline = time.monotonic() + self.timeout
        attempt = _Attempt()
        worker = threading.Thread(
            target=self._fetch, args=(uri, deadline, attempt), name="cognito-authz-jwks-fetch", daemon=True
        )
        try:
            worker.start()
        except RuntimeError as exc:  # "can't start new thread": out of threads or memory
            raise JwksError("JWKS fetch could not start a thread", reason="jwks_fetch_failed") from exc
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            attempt.abandon()
            raise JwksError(f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed")
        if attempt.error is not None:
            raise attempt.error
        assert attempt.body is not None
        return loads_strict(attempt.body)

    def _fetch(self, uri: str, deadline: float, attempt: _Attempt) -> None:
        """Worker thread: never raises; leaves either ``attempt.body`` or ``attempt.error``."""
        try:
            import requests  # deferred: only a real fetch pays for importing requests

            try:
                if self._session is not None:
                    attempt.body = self._get(self._session, uri, deadline, attempt)
                else:
                    with requests.Session() as session:
                        attempt.body = self._get(session, uri, deadline, attempt)
            except requests.RequestException as exc:
                raise JwksError(
                    f"JWKS fetch failed: {type(exc).__name__}", reason="jwks_fetch_failed"
                ) from exc
        except JwksError as exc:
            attempt.error = exc
        except Exception as exc:  # the worker must not die with an unhandled exception
            error = JwksError(f"JWKS fetch failed: {type(exc).__name__}", reason="jwks_fetch_failed")
            error.__cause__ = exc
            attempt.error = error

    def _get(self, session: requests.Session, uri: str, deadline: float, attempt: _Attempt) -> bytes:
        # The (connect, read) timeout bounds each blocking call so an abandoned worker ends on its own.
        response = session.get(
            uri,
            timeout=(self.timeout, self.timeout),
            allow_redirects=False,
            stream=True,
            # Per request, so the session's own CA bundle wins: requests otherwise lets
            # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify (psf/requests#3829).
            verify=session.verify,
            # identity: a JWKS is small, and a compressed body would let a tiny response inflate in memory.
            headers={"Accept": "application/json", "Accept-Encoding": "identity"},
        )
        with response:
            with attempt.lock:
                attempt.response = response
                abandoned = attempt.abandoned
            if abandoned:
                raise JwksError("JWKS fetch abandoned at its deadline", reason="jwks_fetch_failed")
            if 300 <= response.status_code < 400:
                raise JwksError(
                    f"JWKS endpoint answered a redirect ({response.status_code}); not followed",
                    reason="jwks_redirect",
                )
            if response.status_code != 200:
                raise JwksError(
                    f"JWKS endpoint answered HTTP {response.status_code}", reason="jwks_fetch_failed"
                )
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise JwksError(
                    f"JWKS response declares {declared} bytes, more than {self.max_bytes}",
                    reason="jwks_too_large",
                )
            body = bytearray()
            for chunk in response.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise JwksError(
                        f"JWKS response larger than {self.max_bytes} bytes", reason="jwks_too_large"
                    )
                if attempt.abandoned or time.monotonic() > deadline:
                    raise JwksError(
                        f"JWKS fetch exceeded its {self.timeout}s deadline", reason="jwks_fetch_failed"
                    )
            return bytes(body)
