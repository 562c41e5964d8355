"""Adapters: where a request meets the verifier and the policy (Lambda authorizer, handler decorators,
ASGI and WSGI middleware, Powertools interop). Each framework import stays inside its own module."""
