"""The service's secret key: what happens to data sealed or signed under another key, rotating the
key (old key accepted to open and verify, `comments-service rekey` seals again), and handing a
site's SSO secret to the CLI without putting it on the command line."""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys

import pytest

from comments_service.db.pool import connect
from comments_service.identity import Keyring, SecretSealedElsewhere
from comments_service.settings import Settings
from tests.support.apps import other_app
from tests.support.paths import REPO
from tests.support.servers import process_env
from tests.support.sites import article_body, make_site
from tests.support.tokens import SSO_SECRET

OLD_KEY = "test-secret-key-" + "x" * 32  # the test app's key (TestStorage.env)
NEW_KEY = "rotated-secret-key-" + "n" * 32


def test_the_test_app_runs_on_the_old_key(storage):
    assert storage.env()["COMMENTS_SECRET_KEY"] == OLD_KEY


def test_a_keyring_opens_with_its_previous_key_and_seals_only_with_the_current_one():
    sealed_old = Keyring(OLD_KEY).encrypt("host secret")
    rotating = Keyring(NEW_KEY, previous=(OLD_KEY,))
    assert rotating.decrypt(sealed_old) == "host secret"
    again = rotating.reseal(sealed_old)
    assert again is not None and Keyring(NEW_KEY).decrypt(again) == "host secret"
    assert rotating.reseal(again) is None  # already under the current key
    with pytest.raises(SecretSealedElsewhere, match="COMMENTS_SECRET_KEY"):
        Keyring(OLD_KEY).decrypt(again)
    with pytest.raises(SecretSealedElsewhere):
        Keyring(NEW_KEY).decrypt(sealed_old)
    with pytest.raises(SecretSealedElsewhere):
        Keyring(NEW_KEY).decrypt(b"short")


async def _seal_under(db, site_id: str, key: str) -> None:
    await db.execute("UPDATE sites SET sso_secret_enc = $2 WHERE id = $1", site_id, Keyring(key).encrypt(SSO_SECRET))


async def test_a_site_whose_secret_another_key_sealed_still_serves_and_says_why_sign_in_fails(
        client, services, db, caplog):
    site = await make_site(services, db)
    await _seal_under(db, site.id, "some-other-deployments-key-" + "q" * 32)
    services.sites.forget(site.id)
    caplog.set_level(logging.ERROR, logger="comments_service.sites")

    read = await client.get("/api/v1/articles/a1/comments", params=site.q())
    assert read.status_code in (200, 404), read.text
    assert read.json().get("code") != "internal_error"
    guest = await client.post("/api/v1/articles/a1/comments", params=site.q(),
                              json=article_body("as a guest", author_name="Visitor"))
    assert guest.status_code == 201, guest.text

    signed_in = await client.post("/api/v1/articles/a1/comments", params=site.q(),
                                  headers=site.auth(site.sso_token()), json=article_body("signed in"))
    assert signed_in.status_code == 503, signed_in.text
    assert signed_in.json()["code"] == "sso_unavailable"
    assert "COMMENTS_SECRET_KEY" in signed_in.json()["detail"]
    assert any(site.id in r.getMessage() and "COMMENTS_SECRET_KEY" in r.getMessage() for r in caplog.records)

    why = await client.get("/api/v1/troubleshoot", params=site.q(article_id="a1"),
                           headers=site.auth(site.sso_token()))
    assert why.status_code == 200, why.text
    token_check = next(c for c in why.json()["checks"] if c["id"] == "token")
    assert token_check["status"] == "problem" and token_check["code"] == "sso_unavailable"


async def test_during_a_rotation_the_previous_key_opens_secrets_and_verifies_guest_tokens(
        client, services, db, storage):
    site = await make_site(services, db)  # its SSO secret sealed under the old key
    made = await client.post("/api/v1/articles/rot/comments", params=site.q(),
                             json=article_body("before the rotation", author_name="Visitor"))
    assert made.status_code == 201, made.text
    old_guest_token, comment_id = made.json()["guest_token"], made.json()["comment"]["id"]

    async with other_app(storage, COMMENTS_SECRET_KEY=NEW_KEY, COMMENTS_SECRET_KEY_PREVIOUS=OLD_KEY) as rotating:
        edit = await rotating.patch(f"/api/v1/comments/{comment_id}", params=site.q(), json={"body": "edited"},
                                    headers=site.auth(old_guest_token))
        assert edit.status_code == 200, edit.text
        sso = await rotating.post("/api/v1/articles/rot/comments", params=site.q(),
                                  headers=site.auth(site.sso_token()), json=article_body("signed in"))
        assert sso.status_code == 201, sso.text
        fresh = await rotating.post("/api/v1/articles/rot/comments", params=site.q(),
                                    json=article_body("during the rotation", author_name="Newcomer"))
        new_guest_token = fresh.json()["guest_token"]

    async with other_app(storage, COMMENTS_SECRET_KEY=NEW_KEY) as rotated:
        # tokens the new key signed keep working once the old key is gone; the old key's do not
        again = await rotated.post("/api/v1/articles/rot/comments", params=site.q(),
                                   headers=site.auth(new_guest_token), json=article_body("after"))
        assert again.status_code == 201, again.text
        stale = await rotated.patch(f"/api/v1/comments/{comment_id}", params=site.q(), json={"body": "x"},
                                    headers=site.auth(old_guest_token))
        assert stale.status_code == 401 and stale.json()["code"] == "token_invalid"


def test_the_previous_key_is_a_setting_with_the_same_rules_as_the_key():
    settings = Settings.from_env({"COMMENTS_SECRET_KEY": NEW_KEY, "COMMENTS_SECRET_KEY_PREVIOUS": OLD_KEY})
    assert settings.security.secret_key_previous == OLD_KEY
    with pytest.raises(ValueError, match="COMMENTS_SECRET_KEY_PREVIOUS"):
        Settings.from_env({"COMMENTS_SECRET_KEY_PREVIOUS": "short"})


# ------------------------------------------------------------------ the CLI, on a database of its own
@pytest.fixture
async def own_db(storage):
    """A migrated database of this test's own: rekey seals every site of a database again."""
    async with storage.own_database("sec", migrated=True) as url:
        yield url


def cli(storage, url: str, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environ = process_env(storage.env(COMMENTS_DATABASE_URL=url, **env), isolated=True)
    return subprocess.run([sys.executable, "-m", "comments_service.cli", *args], cwd=REPO, env=environ,
                          input=stdin or "", capture_output=True, text=True, timeout=120)


async def _sealed(url: str) -> dict[str, bytes]:
    conn = await connect(url)
    try:
        return {r["id"]: bytes(r["sso_secret_enc"]) for r in await conn.fetch(
            "SELECT id, sso_secret_enc FROM sites WHERE sso_secret_enc IS NOT NULL")}
    finally:
        await conn.close()


async def test_rekey_seals_every_secret_under_the_new_key(storage, own_db):
    conn = await connect(own_db)
    try:
        for site_id, key in (("old-a", OLD_KEY), ("old-b", OLD_KEY), ("new-c", NEW_KEY)):
            await conn.execute("INSERT INTO sites (id, name, allowed_origins, sso_secret_enc) VALUES ($1, $1, $2, $3)",
                               site_id, ["https://a.example"], Keyring(key).encrypt(f"secret of {site_id}"))
        # a webhook's signing secret is sealed the same way, and goes along
        await conn.execute("INSERT INTO webhook_endpoints (site_id, url, secret_sealed, event_types) VALUES "
                           "('old-b', 'https://hooks.example/in', $1, '{comment.published}')",
                           Keyring(OLD_KEY).encrypt("whsec_webhook-of-old-b"))
    finally:
        await conn.close()

    done = cli(storage, own_db, "rekey", COMMENTS_SECRET_KEY=NEW_KEY, COMMENTS_SECRET_KEY_PREVIOUS=OLD_KEY)
    assert done.returncode == 0, done.stderr
    assert "resealed 3" in done.stdout and "1 already" in done.stdout
    after = Keyring(NEW_KEY)
    assert {k: after.decrypt(v) for k, v in (await _sealed(own_db)).items()} == {
        "old-a": "secret of old-a", "old-b": "secret of old-b", "new-c": "secret of new-c"}
    conn = await connect(own_db)
    try:
        sealed = await conn.fetchval("SELECT secret_sealed FROM webhook_endpoints")
    finally:
        await conn.close()
    assert after.decrypt(bytes(sealed)) == "whsec_webhook-of-old-b"

    # a secret that no configured key opens is named, and left as it is
    stranger = Keyring("a-third-key-nobody-configured-" + "z" * 32).encrypt("lost")
    conn = await connect(own_db)
    try:
        await conn.execute("UPDATE sites SET sso_secret_enc = $1 WHERE id = 'old-a'", stranger)
    finally:
        await conn.close()
    refused = cli(storage, own_db, "rekey", COMMENTS_SECRET_KEY=NEW_KEY)
    assert refused.returncode == 1
    assert "old-a" in refused.stderr and "COMMENTS_SECRET_KEY_PREVIOUS" in refused.stderr
    assert (await _sealed(own_db))["old-a"] == stranger


@pytest.mark.parametrize("source", ["stdin", "env"])
async def test_site_create_takes_the_sso_secret_from_stdin_or_an_environment_variable(storage, own_db, source):
    secret = "host-signing-secret-" + secrets.token_hex(8)
    if source == "stdin":
        done = cli(storage, own_db, "site", "create", "--id", "piped", "--origin", "https://p.example",
                   "--sso-secret-stdin", stdin=secret + "\n")
    else:
        done = cli(storage, own_db, "site", "create", "--id", "piped", "--origin", "https://p.example",
                   "--sso-secret-env", "HOST_SSO_SECRET", HOST_SSO_SECRET=secret)
    assert done.returncode == 0, done.stderr
    assert Keyring(storage.env()["COMMENTS_SECRET_KEY"]).decrypt((await _sealed(own_db))["piped"]) == secret


@pytest.mark.parametrize(("args", "says"), [
    (["--sso-secret-stdin"], "standard input held no secret"),
    (["--sso-secret-env", "NO_SUCH_VARIABLE_HERE"], "NO_SUCH_VARIABLE_HERE is not set"),
])
async def test_site_create_refuses_an_empty_secret_source_and_saves_nothing(storage, own_db, args, says):
    done = cli(storage, own_db, "site", "create", "--id", "empty", "--origin", "https://e.example", *args)
    assert done.returncode == 2 and says in done.stderr
    conn = await connect(own_db)
    try:
        assert await conn.fetchval("SELECT count(*) FROM sites WHERE id = 'empty'") == 0
    finally:
        await conn.close()


def test_the_embedded_run_keeps_one_generated_key_beside_its_database(tmp_path):
    from comments_service.secret_keys import MissingSecretKey, embedded_secret_key, secret_key

    first = embedded_secret_key(tmp_path)
    assert len(first) >= 32 and embedded_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no staging file left behind
    # everywhere else the key is configured, never made up
    with pytest.raises(MissingSecretKey, match="COMMENTS_SECRET_KEY is not set"):
        secret_key(Settings.from_env({"COMMENTS_DATA_DIR": str(tmp_path)}))
