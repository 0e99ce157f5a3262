"""POST /api/v1/toxicity/check: the nudge before posting, scored in the API process without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support.apps import scoring_app

CHECK = "/api/v1/toxicity/check"


async def test_civil_text_is_not_likely_held(client, site):
    response = await client.post(CHECK, params=site.q(), json={"body": "Three soldiers were killed in the attack."})
    assert response.status_code == 200
    assert response.json() == {"likely_held": False, "message": None, "likely_rejected": False}


@pytest.mark.parametrize("text", ["I know where you live.", "This policy is moronic."])
async def test_text_that_would_be_held_is_likely_held_without_revealing_scores(client, site, text):
    response = await client.post(CHECK, params=site.q(), json={"body": text},
                                 headers=site.auth(site.sso_token()))
    assert response.status_code == 200
    body = response.json()
    # exactly these keys: no scores, labels, reasons or thresholds
    assert set(body) == {"likely_held", "likely_rejected", "message"}
    assert body["likely_held"] is True and body["likely_rejected"] is False
    assert "likely to be held" in body["message"] and "You can edit it or submit it for review" in body["message"]


# a banned term rejects whatever the scores; so does a score over the reject threshold (here the
# screen's own: "f u c k you" and a bare insult score near 1.0 on the offline screen)
@pytest.mark.parametrize("text", ["kys", "Go and kill yourself.", "f u c k you and your lying newspaper",
                                  "You absolute idiot."])
async def test_text_that_would_be_rejected_is_never_called_likely_held(client, site, text):
    response = await client.post(CHECK, params=site.q(), json={"body": text},
                                 headers=site.auth(site.sso_token()))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"likely_held", "likely_rejected", "message"}
    assert body["likely_rejected"] is True and body["likely_held"] is False
    assert "will not be published" in body["message"]
    assert "held" not in body["message"] and "submit it for review" not in body["message"]


async def test_the_site_s_own_banned_words_reject(client, site, db):
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", site.id,
                     {"moderation": {"banned_words": ["pineapple pizza"]}})
    client.app.state.services.sites.forget(site.id)
    body = (await client.post(CHECK, params=site.q(), json={"body": "Pineapple pizza forever."})).json()
    assert body["likely_rejected"] is True and "will not be published" in body["message"]


async def test_site_word_lists_apply(client, site, db):
    await db.execute("UPDATE sites SET settings = $2 WHERE id = $1", site.id,
                     {"moderation": {"suspect_words": ["pineapple pizza"]}})
    client.app.state.services.sites.forget(site.id)
    response = await client.post(CHECK, params=site.q(), json={"body": "Pineapple   pizza is the best."})
    assert response.json()["likely_held"] is True


@pytest.mark.parametrize("payload, code", [({"body": "   "}, "empty_body"), ({"body": "a\x00b"}, "invalid_characters"),
                                           ({"body": "x" * 10_001}, "body_too_long"), ({}, "invalid_request"),
                                           ({"body": "hi", "scores": True}, "invalid_request")])
async def test_bad_input_is_a_4xx(client, site, payload, code):
    response = await client.post(CHECK, params=site.q(), json=payload)
    assert response.status_code == 400 and response.json()["code"] == code


async def test_unknown_site_is_refused(client):
    response = await client.post(CHECK, params={"site": "nosuchsite"}, json={"body": "hello"})
    assert response.status_code == 404 and response.json()["code"] == "unknown_site"


async def test_checks_are_rate_limited(storage, site):
    # the test client has no peer address, so the per-user limit is the one exercised here
    async with scoring_app(storage, COMMENTS_RATE_LIMITS="check.user=60:2") as api:
        headers = site.auth(site.sso_token(sub="eager"))
        codes = [(await api.post(CHECK, params=site.q(), json={"body": "hello"}, headers=headers)).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 429]
        limited = await api.post(CHECK, params=site.q(), json={"body": "hello"}, headers=headers)
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) > 0
        other = await api.post(CHECK, params=site.q(), json={"body": "hello"},
                               headers=site.auth(site.sso_token(sub="calm")))
        assert other.status_code == 200


def test_the_api_process_never_imports_torch(storage, site):
    """Checking and posting in an API process with scoring on leaves torch and transformers unloaded."""
    script = textwrap.dedent("""
        import sys
        from litestar.testing import TestClient
        from comments_service.app import create_app
        from comments_service.settings import Settings

        site = sys.argv[1]
        with TestClient(app=create_app(Settings.from_env(dict(arg.split("=", 1) for arg in sys.argv[2:])))) as client:
            checked = client.post("/api/v1/toxicity/check", params={"site": site}, json={"body": "you idiot"})
            assert checked.json()["likely_rejected"] is True, checked.text
            posted = client.post("/api/v1/articles/t/comments", params={"site": site},
                                 json={"body": "hello", "author_name": "G", "article_url": "https://news.example/t",
                                       "article_title": "T"})
            assert posted.json()["status"] == "pending_scoring", posted.text
        print("HEAVY=" + ",".join(sorted(m for m in ("torch", "transformers", "detoxify") if m in sys.modules)))
    """)
    env = storage.env(COMMENTS_SCORING="on", COMMENTS_DECISION_WAIT_MS="50")
    result = subprocess.run([sys.executable, "-c", script, site.id, *(f"{k}={v}" for k, v in env.items())],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "HEAVY=\n" in result.stdout, result.stdout
