"""Every staff route is in the access matrix: a route added to /api/v1/moderation without a row in
test_moderation_access.ROUTES would never be checked against a moderator of another site. The
list is read from the OpenAPI schema, so a route cannot hide from it, and every one of them is
documented with a summary."""

from __future__ import annotations

import re

from tests.integration.test_moderation_access import ROUTES

PREFIX = "/api/v1/moderation"
# the routes a caller reaches before being anyone: signing in exchanges a token for a session
BEFORE_SIGN_IN = {("POST", "/session")}


def _shape(path: str) -> str:
    """A path with every parameter as {}: /users/{user_id} and /users/{user} match."""
    return re.sub(r"\{[^}]*\}", "{}", path.partition("?")[0])


async def test_every_staff_route_is_in_the_access_matrix(client):
    spec = (await client.get("/schema/openapi.json")).json()
    in_schema = {(method.upper(), _shape(path[len(PREFIX):]))
                 for path, methods in spec["paths"].items() if path.startswith(PREFIX + "/")
                 for method in methods if method in ("get", "post", "put", "patch", "delete")}
    # the matrix fills in real values (art-1, the site's id) where the schema has parameters
    in_matrix = {(method, _shape(re.sub(r"/(art-1|\{site\})(?=/|$)", "/{}", path))) for method, path, _ in ROUTES}
    missing = sorted(in_schema - in_matrix - BEFORE_SIGN_IN)
    assert not missing, f"staff routes with no row in test_moderation_access.ROUTES: {missing}"
    assert len(in_schema) >= 12  # the schema was read, not an empty document


async def test_every_staff_route_is_documented(client):
    spec = (await client.get("/schema/openapi.json")).json()
    undocumented = [(method, path) for path, methods in spec["paths"].items() if path.startswith(PREFIX + "/")
                    for method, operation in methods.items()
                    if method in ("get", "post", "put", "patch", "delete") and not operation.get("summary")]
    assert not undocumented
