"""The site's surge rule (domain/policy.SurgeRules): defaults, bounds, refusals that name the key,
who counts as new, and the policy's hold for a new author on an article in surge."""

from __future__ import annotations

import pytest

from comments_service.domain.policy import (
    POLICY_KEYS,
    SURGE_PREMODERATION,
    PolicyConfig,
    PolicyContext,
    SurgeRules,
    decide,
)

CALM = {"toxicity": 0.01}


def test_defaults_and_a_partial_setting_over_them():
    assert SurgeRules() == SurgeRules(enabled=True, new_accounts=10, window_minutes=10, new_account_hours=24,
                                      cooldown_minutes=30)
    assert "surge" in POLICY_KEYS
    cfg = PolicyConfig.from_site_settings({"moderation": {"surge": {"new_accounts": 25, "enabled": False}}})
    assert cfg.surge == SurgeRules(enabled=False, new_accounts=25)
    assert PolicyConfig.from_site_settings({}).surge == SurgeRules()


@pytest.mark.parametrize("raw,named", [
    ([], "moderation.surge"),
    ({"threshold": 3}, "moderation.surge.threshold"),
    ({"enabled": 1}, "moderation.surge.enabled"),
    ({"new_accounts": 1}, "moderation.surge.new_accounts"),
    ({"new_accounts": 1001}, "moderation.surge.new_accounts"),
    ({"new_accounts": True}, "moderation.surge.new_accounts"),
    ({"window_minutes": 0}, "moderation.surge.window_minutes"),
    ({"window_minutes": 1441}, "moderation.surge.window_minutes"),
    ({"new_account_hours": 8761}, "moderation.surge.new_account_hours"),
    ({"cooldown_minutes": 2.5}, "moderation.surge.cooldown_minutes"),
    ({"cooldown_minutes": 10**30}, "moderation.surge.cooldown_minutes"),
])
def test_invalid_values_are_refused_naming_the_key(raw, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        PolicyConfig.from_site_settings({"moderation": {"surge": raw}})


def test_the_bounds_themselves_are_allowed():
    low = SurgeRules.from_settings({"new_accounts": 2, "window_minutes": 1, "new_account_hours": 1,
                                    "cooldown_minutes": 1}, "s")
    high = SurgeRules.from_settings({"new_accounts": 1000, "window_minutes": 1440, "new_account_hours": 8760,
                                     "cooldown_minutes": 1440}, "s")
    assert (low.new_accounts, high.new_accounts) == (2, 1000)


def test_of_site_falls_back_to_the_defaults_for_a_stored_invalid_rule():
    assert SurgeRules.of_site({"moderation": {"surge": {"new_accounts": 0}}}) == SurgeRules()
    assert SurgeRules.of_site({"moderation": {"surge": {"new_accounts": 4}}}).new_accounts == 4
    assert SurgeRules.of_site(None) == SurgeRules()


def test_who_counts_as_new():
    rules = SurgeRules(new_account_hours=24)
    assert rules.new_author(guest=True, account_age_seconds=10**9)
    assert rules.new_author(guest=False, account_age_seconds=23 * 3600)
    assert not rules.new_author(guest=False, account_age_seconds=25 * 3600)


def test_the_policy_holds_a_surge_author_after_trusted_users_publish():
    cfg = PolicyConfig()
    held = decide(CALM, "A calm remark.", PolicyContext(surge_new_author=True), cfg)
    assert (held.outcome, held.reason) == ("held", SURGE_PREMODERATION)
    trusted = decide(CALM, "A calm remark.", PolicyContext(surge_new_author=True, user_trusted=True), cfg)
    assert trusted.outcome == "published"
    assert decide(CALM, "A calm remark.", PolicyContext(), cfg).outcome == "published"
