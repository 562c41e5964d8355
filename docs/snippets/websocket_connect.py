"""The integration of a WebSocket API's ``$connect`` route when browsers send the token as a subprotocol.

A browser cannot set ``Authorization`` on a WebSocket, so the client offers the token as a subprotocol:
``new WebSocket(url, ["bearer", token])`` sends ``Sec-WebSocket-Protocol: bearer, <token>``.
``LambdaAuthorizer`` (``token_subprotocol="bearer"``, the default) verifies the token there. The
handshake then only completes if the ``$connect`` integration answers with one of the offered
subprotocols, so this handler echoes the marker ``bearer``, never the token itself:
https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html
"""

from __future__ import annotations

from typing import Any

MARKER = "bearer"


def connect_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Accept the connection the authorizer let through, choosing the ``bearer`` subprotocol."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    offered = [part.strip() for part in headers.get("sec-websocket-protocol", "").split(",")]
    if MARKER not in offered:
        # The token came in the Authorization header or the query string: no subprotocol to choose.
        return {"statusCode": 200}
    return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": MARKER}}
