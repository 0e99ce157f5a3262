"""OpenAPI at /schema documents every route with the msgspec Structs."""


async def test_schema_lists_every_public_route_with_bodies(client):
    resp = await client.get("/schema/openapi.json")
    assert resp.status_code == 200
    spec = resp.json()
    paths = spec["paths"]
    for path, methods in {
        "/api/v1/articles/{article_id}/comments": {"get", "post"},
        "/api/v1/comments/{comment_id}/replies": {"get"},
        "/api/v1/comments/{comment_id}": {"patch", "delete"},
        "/api/v1/comments/{comment_id}/votes": {"post"},
        "/api/v1/counts": {"post"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, paths[path].keys())
    schemas = spec["components"]["schemas"]
    for name in ("CommentCreate", "CommentView", "ThreadPage", "PostedComment", "CountsRequest", "VoteCreate"):
        assert any(key.endswith(name) for key in schemas), name
    get_thread = paths["/api/v1/articles/{article_id}/comments"]["get"]
    assert "ThreadPage" in str(get_thread["responses"]["200"])
    assert {"site", "sort", "limit", "cursor", "replies"} <= {p["name"] for p in get_thread["parameters"]}
