"""A reader's token (a host site's SSO token, or a guest token of ours) is verified once per process
and then known by its whole text, but only for the site, and the SSO secret and rules or the
service's keys, it was verified under, and only until it expires."""

from __future__ import annotations

import time

import jwt
import pytest

from comments_service import identity
from comments_service.errors import DomainError
from comments_service.identity import Keyring, SsoRules, VerifiedTokens, verify_bearer_token

SECRET = "s" * 40
KEYRING = Keyring("k" * 40)


def sso(secret: str = SECRET, expires_in: float = 3600, **claims) -> str:
    return jwt.encode({"sub": "ann", "name": "Ann", "exp": int(time.time() + expires_in), **claims}, secret,
                      algorithm="HS256")


@pytest.fixture(autouse=True)
def empty_memo():
    identity.VERIFIED.clear()
    yield
    identity.VERIFIED.clear()


def refuse_any_signature(monkeypatch) -> None:
    """A verification that would refuse every token: an answer after this came from the memo."""
    def refused(*args, **kwargs):
        raise identity.hs256.TokenError("signature")

    monkeypatch.setattr(identity.hs256, "verify", refused)


def test_a_token_verified_once_is_known_without_checking_its_signature_again(monkeypatch):
    token = sso()
    first = verify_bearer_token(KEYRING, token, "daily", SECRET)
    refuse_any_signature(monkeypatch)
    assert verify_bearer_token(KEYRING, token, "daily", SECRET) == first
    with pytest.raises(DomainError) as refused:  # a token never verified is not let through
        verify_bearer_token(KEYRING, sso(name="Bob"), "daily", SECRET)
    assert refused.value.code == "token_invalid"


@pytest.mark.parametrize("site, secret, rules", [
    ("weekly", SECRET, SsoRules()),  # another site
    ("daily", "t" * 40, SsoRules()),  # the site's secret changed
    ("daily", SECRET, SsoRules(require_aud=True)),  # the site now requires aud
    ("daily", None, SsoRules()),  # the site no longer takes sign-in tokens
])
def test_a_known_token_is_verified_again_for_another_site_secret_or_rules(monkeypatch, site, secret, rules):
    token = sso()
    verify_bearer_token(KEYRING, token, "daily", SECRET)
    refuse_any_signature(monkeypatch)
    with pytest.raises(DomainError) as refused:
        verify_bearer_token(KEYRING, token, site, secret, rules)
    assert refused.value.code == "token_invalid"


@pytest.mark.parametrize("kind, lasts", [("sso", 60), ("guest", 86_400)])
def test_a_known_token_expires_when_a_full_verification_would_say_so(monkeypatch, kind, lasts):
    token = sso(expires_in=lasts) if kind == "sso" else KEYRING.issue_guest_token("daily", 42, "Desk", lasts // 86_400)
    verify_bearer_token(KEYRING, token, "daily", SECRET)
    later = time.time() + lasts + 30 + 1  # past exp and the leeway
    monkeypatch.setattr(identity.time, "time", lambda: later)  # (the one time module hs256 reads too)
    with pytest.raises(DomainError) as refused:
        verify_bearer_token(KEYRING, token, "daily", SECRET)
    assert refused.value.code == "token_expired"


def test_the_memo_keeps_the_tokens_used_last():
    memo = VerifiedTokens(size=3)
    who = identity.Identity(site_id="daily", kind="sso", external_id="ann", name="Ann")

    def held() -> list[bool]:
        return [memo.get(f"t{n}", "daily", KEYRING, SECRET, SsoRules(), time.time()) is who for n in range(6)]

    for n in range(4):
        memo.put(f"t{n}", "daily", SECRET, SsoRules(), time.time() + 60, who)
    assert held() == [False, True, True, True, False, False]
    # held() asked for t1, then t2 and t3: asked for again, t1 outlasts the next two tokens kept
    memo.get("t1", "daily", KEYRING, SECRET, SsoRules(), time.time())
    memo.put("t4", "daily", SECRET, SsoRules(), time.time() + 60, who)
    memo.put("t5", "daily", SECRET, SsoRules(), time.time() + 60, who)
    assert held() == [False, True, False, False, True, True]


def test_a_staff_role_is_known_only_under_the_rules_that_granted_it():
    token = sso(role="admin", aud="daily")
    assert verify_bearer_token(KEYRING, token, "daily", SECRET, SsoRules(staff_roles=True)).role == "admin"
    assert verify_bearer_token(KEYRING, token, "daily", SECRET, SsoRules()).role == "reader"


def test_an_oversized_token_is_verified_every_time_and_never_kept(monkeypatch):
    token = sso(padding="x" * identity.MEMO_TOKEN_MAX)
    verify_bearer_token(KEYRING, token, "daily", SECRET)
    refuse_any_signature(monkeypatch)
    with pytest.raises(DomainError):
        verify_bearer_token(KEYRING, token, "daily", SECRET)


def test_a_guest_token_is_known_only_for_its_site_and_under_the_keys_that_signed_it(monkeypatch):
    token = KEYRING.issue_guest_token("daily", 42, "Desk", 30)
    first = verify_bearer_token(KEYRING, token, "daily", SECRET)
    assert (first.kind, first.user_id) == ("guest", 42)
    refuse_any_signature(monkeypatch)
    assert verify_bearer_token(KEYRING, token, "daily", None) == first  # whatever the site's SSO setup
    for keyring, site in ((Keyring("k" * 40), "daily"), (KEYRING, "weekly")):  # keys rotated; another site
        with pytest.raises(DomainError) as refused:
            verify_bearer_token(keyring, token, site, SECRET)
        assert refused.value.code == "token_invalid"
