"""A worker holding two models through HTTP: the configured English one and, beside it, detoxify's
multilingual one (tiny offline checkpoints of each). A site that enables the multilingual model has
its Russian comments scored by it, recorded with that model's id; a site that does not has them
follow its ``languages.other`` rule; English goes to the configured model either way."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.apps import scoring_app
from tests.support.scoring import NO_THRESHOLDS, running_worker
from tests.support.seeding import set_site_policy
from tests.support.sites import article_body, make_site

RUSSIAN = "Опять перебросили войска на границу, а местным жителям никто ничего не объясняет."
ENGLISH = "The troops came back to the border post after a week of talks, the ministry said."


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory) -> tuple[str, str]:
    """(checkpoint, config_dir) of a tiny multilingual checkpoint, built in a subprocess (this
    process never imports torch)."""
    directory = tmp_path_factory.mktemp("tiny-xlmr-worker")
    script = ("import sys; from comments_service.toxicity.testing import build_tiny_multilingual_checkpoint; "
              "c, d = build_tiny_multilingual_checkpoint(sys.argv[1]); print(c); print(d)")
    out = subprocess.run([sys.executable, "-c", script, str(directory)], check=True, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}, timeout=600)
    checkpoint, config_dir = out.stdout.split()[-2:]
    return checkpoint, config_dir


@pytest.fixture(scope="module")
async def two_models(storage, database, tiny_detoxify, tiny_xlmr, tmp_path_factory):
    async with running_worker(storage, database, tmp_path_factory.mktemp("two-models"), *tiny_detoxify,
                              COMMENTS_TOXICITY_MULTILINGUAL_CHECKPOINT=tiny_xlmr[0],
                              COMMENTS_TOXICITY_MULTILINGUAL_CONFIG_DIR=tiny_xlmr[1]) as running:
        yield running


@pytest.fixture(scope="module")
async def api(storage, database, two_models):
    async with scoring_app(storage, COMMENTS_DECISION_WAIT_MS="20000") as client:
        yield client


async def site_with(services, db, languages: dict):
    site = await make_site(services, db)
    await set_site_policy(db, site.id, {"moderation": {**NO_THRESHOLDS["moderation"], "languages": languages}})
    return site


async def decided(api, db, site, text):
    r = await api.post("/api/v1/articles/border/comments", params=site.q(), json=article_body(text),
                       headers=site.auth(site.sso_token(sub="reader")))
    assert r.status_code == 201, r.text
    return await db.fetchrow("SELECT status, status_reason, toxicity_model, decision_detail FROM comments "
                             "WHERE id = $1", r.json()["comment"]["id"])


async def test_a_site_that_enables_the_multilingual_model_has_russian_scored_by_it(api, services, db, two_models):
    _, status = two_models
    english_model = status["model"]["model_id"]
    enabled = await site_with(services, db, {"multilingual": True, "other": "hold"})
    russian = await decided(api, db, enabled, RUSSIAN)
    assert russian["status"] == "published", dict(russian)
    assert "multilingual" in russian["toxicity_model"] and russian["toxicity_model"] != english_model
    assert russian["decision_detail"]["language"] == "ru" and "language_unscored" not in russian["decision_detail"]
    english = await decided(api, db, enabled, ENGLISH)
    assert english["status"] == "published" and english["toxicity_model"] == english_model

    # the same worker, a site that keeps the multilingual model off: its "other" rule holds Russian
    off = await site_with(services, db, {"other": "hold"})
    held = await decided(api, db, off, RUSSIAN)
    assert (held["status"], held["status_reason"]) == ("held", "language_unscored")
    assert held["toxicity_model"] == english_model
