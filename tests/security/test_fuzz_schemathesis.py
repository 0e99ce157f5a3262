"""Property-based API fuzzing with schemathesis against the service's own OpenAPI (/schema/openapi.json).

Every operation in the schema (public routes, and the moderator/admin routes present when this runs)
gets positive and negative (schema-violating) generated requests against a real `comments-service
serve` process. Each request carries one of: no token, a reader's SSO token, a guest token, the
site's moderator API token or an unscoped admin API token; most name a real site and, often, a real
article or comment, so that requests get past the site lookup into the handlers.

About one case in four also carries a hostile input that generation from the schema rarely reaches
(``HOSTILE``): a body of JSON nested past the interpreter's stack, integers beyond int64 (and past
a float) in every integer path, query and body field, a bearer token of several KB, or a token
whose unverified payload is deeply nested JSON. The request count, and so the runtime, is the same.

For every response:
- no 5xx (schemathesis' ``not_a_server_error``);
- the body conforms to the response schema documented for its status (``response_schema_conformance``);
- a 4xx changed no data: a snapshot (row count + md5 of every row) of every data table is taken
  before and after the call and must be identical.

CI size: FUZZ_EXAMPLES examples per operation and generation mode (>= 1,000 requests in all; the
test asserts the count). The long run (>= 20,000 requests) sets COMMENTS_FUZZ_EXAMPLES; see
bench/RESULTS_reliability.md.
"""

from __future__ import annotations

import base64
import json
import math
import os
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support.database import SyncDb, data_tables, snapshot_query
from tests.support.servers import ServiceProcess
from tests.support.sites import SeededSite, seed_world

# Streaming (SSE) routes never end a response; they are covered by their own tests.
SKIP_PATHS = ("/events",)
MIN_REQUESTS = int(os.environ.get("COMMENTS_FUZZ_MIN_REQUESTS", "1000"))


@dataclass(frozen=True)
class Hostile:
    kind: str  # nested_body | huge_numbers | long_token | nested_token
    size: int = 0  # nesting depth, or the token's length
    opener: str = "["
    value: int = 0


def nested_json(depth: int, opener: str) -> str:
    return opener * depth + "1" + ("]" if opener == "[" else "}") * depth


def unsigned_jwt(payload: str) -> str:
    """A JWT-shaped token with a made-up signature: its payload is read before the signature fails."""
    def enc(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    return ".".join(enc(part) for part in ('{"alg":"HS256","typ":"JWT"}', payload, "not a signature"))


OPENERS = st.sampled_from(["[", '{"a":'])
HOSTILE = st.one_of(
    # past the recursion limit (~1,000) and, at the top, past the 64 KB body limit; twice as likely
    # as the others, as most operations have no body (they get the nested JSON in a token instead)
    st.builds(Hostile, kind=st.just("nested_body"), size=st.integers(900, 14_000), opener=st.just("[")),
    st.builds(Hostile, kind=st.just("nested_body"), size=st.integers(900, 12_000), opener=st.just('{"a":')),
    st.builds(Hostile, kind=st.just("huge_numbers"),
              value=st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), 10**400])),
    st.builds(Hostile, kind=st.just("long_token"), size=st.integers(2_000, 8_000)),
    st.builds(Hostile, kind=st.just("nested_token"), size=st.integers(900, 2_500), opener=OPENERS),
)
MAYBE_HOSTILE = st.sampled_from([False, False, False, True]).flatmap(lambda on: HOSTILE if on else st.none())


def make_hostile(case, hostile: Hostile) -> tuple[Hostile, dict]:
    """Apply ``hostile`` to ``case``: what was sent (an operation without a body gets the nested
    JSON in its token) and extra arguments for ``case.call`` (a raw body)."""
    if hostile.kind == "nested_body" and isinstance(case.body, NotSet):
        hostile = replace(hostile, kind="nested_token", size=min(hostile.size, 2_500))
    if hostile.kind == "nested_body":
        deep = nested_json(hostile.size, hostile.opener)
        if isinstance(case.body, dict) and case.body:  # inside a field the handler reads
            deep = "{" + json.dumps(sorted(case.body)[0]) + ":" + deep + "}"
        case.headers = {**(case.headers or {}), "Content-Type": "application/json"}
        return hostile, {"data": deep.encode()}
    if hostile.kind == "huge_numbers":
        replaced = False
        for container in (case.path_parameters, case.query, case.body):
            if isinstance(container, dict):
                for key, value in container.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        container[key], replaced = hostile.value, True
        if not replaced:
            case.query = {**(case.query or {}), "limit": hostile.value}
        return hostile, {}
    if hostile.kind == "long_token":
        token = unsigned_jwt(json.dumps({"sub": "x" * hostile.size, "exp": 9_999_999_999}))
    else:
        token = unsigned_jwt('{"exp":9999999999,"x":' + nested_json(hostile.size, hostile.opener) + "}")
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    return hostile, {}


def _pick(case, n: int, salt: str) -> int:
    key = repr((salt, case.operation.label, case.path_parameters, case.query, case.body)).encode()
    return zlib.crc32(key) % n


# The fuzzer's own database and server: each refused request is checked against a snapshot of
# every table, which reads every row, so on the run's database (everything the tests before it
# wrote) its cost would grow with the rest of the suite.
@pytest.fixture(scope="module")
async def fuzz_database(storage) -> AsyncIterator[str]:
    async with storage.own_database("fuzz", migrated=True) as url:
        yield url


@pytest.fixture(scope="module")
def fuzz_server(storage, fuzz_database) -> Iterator[ServiceProcess]:
    with ServiceProcess(storage.env(COMMENTS_DATABASE_URL=fuzz_database, COMMENTS_LOG_LEVEL="INFO",
                                    COMMENTS_LOG_JSON="true")) as server:
        yield server


@pytest.fixture(scope="module")
async def fuzz_world(services, fuzz_database, fuzz_server) -> SeededSite:
    return await seed_world(services, fuzz_database, fuzz_server)


@pytest.fixture(scope="module")
def sync_db(fuzz_database):
    db = SyncDb(fuzz_database)
    yield db
    db.close()


def test_schemathesis_fuzz(fuzz_server, fuzz_world, sync_db):
    live_server, world = fuzz_server, fuzz_world
    schema = schemathesis.openapi.from_url(live_server.url + "/schema/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not any(operation.path.endswith(s) for s in SKIP_PATHS):
            operations.append(operation)
    labels = [op.label for op in operations]
    assert any(label == "POST /api/v1/articles/{article_id}/comments" for label in labels), labels

    site = world.site
    tokens = [None, world.reader_token, world.guest_token, world.moderator_token, world.admin_token]
    tables = data_tables(sync_db)
    snapshot = snapshot_query(tables)
    # hypothesis drops duplicate examples (~15%), hence the margin over MIN_REQUESTS
    examples = int(os.environ.get("COMMENTS_FUZZ_EXAMPLES", "0")) or max(
        10, math.ceil(MIN_REQUESTS * 1.4 / (2 * len(operations))))
    stats = {"requests": 0, "4xx": 0, "2xx": 0, "by_status": {}, "hostile": {}}
    failures: list[str] = []

    def prepare(case) -> None:
        # most requests name the real site, many a real article / comment; some keep generated values
        if _pick(case, 8, "site"):
            case.query = {**(case.query or {}), "site": site.id}
        params = case.path_parameters or {}
        if "article_id" in params and _pick(case, 2, "article"):
            params["article_id"] = world.article
        if "comment_id" in params and _pick(case, 3, "comment"):
            params["comment_id"] = world.comment_ids[_pick(case, len(world.comment_ids), "which")]
        token = tokens[_pick(case, len(tokens), "token")]
        if token and "authorization" not in {k.lower() for k in (case.headers or {})}:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    def exercise(case, hostile: Hostile | None) -> None:
        prepare(case)
        extra = {}
        if hostile is not None:
            hostile, extra = make_hostile(case, hostile)
            stats["hostile"][hostile.kind] = stats["hostile"].get(hostile.kind, 0) + 1
        before = sync_db.fetchval(snapshot)
        response = case.call(base_url=live_server.url, timeout=20, **extra)
        stats["requests"] += 1
        status = response.status_code
        stats["by_status"][status] = stats["by_status"].get(status, 0) + 1
        if 400 <= status < 500:
            stats["4xx"] += 1
            after = sync_db.fetchval(snapshot)
            changed = [t for t, b, a in zip(tables, before, after, strict=True) if a != b]
            if changed:
                failures.append(f"{case.operation.label} answered {status} but changed {changed}: "
                                f"{case.as_curl_command()} (with {hostile})")
        elif 200 <= status < 300:
            stats["2xx"] += 1
        if hostile is not None and status >= 500:
            # shown with a failure: the curl line repeats the generated case, not what replaced it
            print(f"{case.operation.label} answered {status} to {hostile}")
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    for operation in operations:
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=examples * 2, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy, hostile=MAYBE_HOSTILE)
        def run(case, hostile) -> None:
            exercise(case, hostile)

        run()

    print(f"\nschemathesis: {len(operations)} operations, {stats}")
    assert not failures, "\n".join(failures[:10])
    assert stats["requests"] >= MIN_REQUESTS, stats
    # the fuzzing reached the handlers, not only the site lookup
    assert stats["2xx"] >= 50, stats
    # and every kind of hostile input went out
    assert set(stats["hostile"]) == {"nested_body", "huge_numbers", "long_token", "nested_token"}, stats


async def test_nul_in_a_query_parameter_is_400_not_500(client, world):
    """Found by the fuzzer: a NUL in the audit log's `action` filter reached PostgreSQL (invalid byte
    sequence for UTF8) and answered 500. Any such input is now 400 invalid_characters."""
    resp = await client.get("/api/v1/moderation/audit", params={"site": world.site.id, "action": "a\x00b"},
                            headers={"Authorization": f"Bearer {world.admin_token}"})
    if resp.status_code == 404 and resp.json().get("code") == "not_found":
        pytest.skip("no moderation routes in this build")
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_characters", resp.text


@pytest.mark.parametrize("path", ["/api/v1/comments/{big}/replies", "/api/v1/moderation/users/{big}/ban"])
async def test_id_beyond_int64_is_4xx_not_500(client, world, path):
    """Found by the fuzzer: an id beyond int64 in a path failed asyncpg's argument encoding: 500."""
    method = "DELETE" if path.endswith("/ban") else "GET"
    resp = await client.request(method, path.format(big=2**101), params={"site": world.site.id},
                                headers={"Authorization": f"Bearer {world.admin_token}"})
    assert 400 <= resp.status_code < 500, resp.text
