"""The guests' proof of work in ALTCHA's format (domain/challenges.py): what a solution must be to
count, and how the difficulty rises (services/guest_challenge.py)."""

from __future__ import annotations

import base64
import json

import pytest

from comments_service.domain import challenges
from comments_service.domain.challenges import ChallengeRefused
from comments_service.identity import Keyring
from comments_service.services import guest_challenge

KEY = b"k" * 32
NOW = 1_800_000_000


def issued(site: str = "news", maxnumber: int = 1000, number: int = 417, ttl: int = 600):
    return challenges.make(KEY, site, now=NOW, ttl_seconds=ttl, maxnumber=maxnumber, number=number)


def refused(payload: str, site: str = "news", now: int = NOW, keys=(KEY,)) -> str:
    with pytest.raises(ChallengeRefused) as caught:
        challenges.verify(list(keys), payload, site, now=now)
    return caught.value.code


def tampered(challenge, **changes) -> str:
    body = {"algorithm": challenge.algorithm, "challenge": challenge.challenge, "number": 417,
            "salt": challenge.salt, "signature": challenge.signature, **changes}
    return base64.b64encode(json.dumps(body).encode()).decode()


def test_a_solved_challenge_verifies_and_names_its_replay_key():
    c = issued()
    assert challenges.solve(c) == 417
    solution = challenges.verify([KEY], challenges.encode_solution(c, 417), "news", now=NOW + 1)
    assert solution.challenge == c.challenge and solution.expires == NOW + 600


def test_the_wire_format_is_altchas():
    c = issued()
    assert c.algorithm == "SHA-256" and len(c.challenge) == 64 and len(c.signature) == 64
    assert "?expires=" in c.salt and "&site=news" in c.salt
    import hashlib
    import hmac
    assert hashlib.sha256(f"{c.salt}417".encode()).hexdigest() == c.challenge
    assert hmac.new(KEY, c.challenge.encode(), hashlib.sha256).hexdigest() == c.signature
    # ALTCHA's widget adds "took": read past, not refused
    challenges.verify([KEY], tampered(c, took=12), "news", now=NOW)


def test_a_solution_is_good_only_from_the_network_it_was_handed_to():
    c = challenges.make(KEY, "news", now=NOW, ttl_seconds=600, maxnumber=1000, number=417,
                        network=challenges.network_of("198.51.100.7"))
    payload = challenges.encode_solution(c, 417)
    assert "198.51" not in c.salt  # the network is a keyed tag, not an address
    challenges.verify([KEY], payload, "news", now=NOW, network=challenges.network_of("198.51.100.200"))
    for elsewhere in ("203.0.113.7", "198.51.101.7"):
        with pytest.raises(ChallengeRefused) as caught:
            challenges.verify([KEY], payload, "news", now=NOW, network=challenges.network_of(elsewhere))
        assert caught.value.code == "challenge_invalid"
    assert refused(payload) == "challenge_invalid"  # nor from no address at all


def test_text_that_is_not_ascii_is_refused_not_an_error():
    c = issued()
    for field in ("signature", "challenge", "salt"):
        body = {"algorithm": c.algorithm, "challenge": c.challenge, "number": 417, "salt": c.salt,
                "signature": c.signature, field: "é" * 64}
        payload = base64.b64encode(json.dumps(body).encode()).decode()
        assert refused(payload) == "challenge_invalid", field


def test_a_forged_signature_is_refused():
    c = issued()
    assert refused(tampered(c, signature="0" * 64)) == "challenge_invalid"
    other = challenges.make(b"x" * 32, "news", now=NOW, ttl_seconds=600, maxnumber=1000, number=417)
    assert refused(challenges.encode_solution(other, 417)) == "challenge_invalid"


def test_a_wrong_number_is_refused():
    c = issued()
    assert refused(challenges.encode_solution(c, 416)) == "challenge_invalid"
    assert refused(tampered(c, number=-1)) == "challenge_invalid"
    assert refused(tampered(c, number="417")) == "challenge_invalid"


def test_an_expired_challenge_is_refused():
    c = issued(ttl=600)
    assert refused(challenges.encode_solution(c, 417), now=NOW + 600) == "challenge_expired"


def test_another_sites_challenge_is_refused():
    c = issued(site="other")
    assert refused(challenges.encode_solution(c, 417), site="news") == "challenge_invalid"
    # a site id that is a prefix of another, or needs quoting, is still told apart
    c = issued(site="news&site=evil")
    assert refused(challenges.encode_solution(c, 417), site="news") == "challenge_invalid"
    challenges.verify([KEY], challenges.encode_solution(c, 417), "news&site=evil", now=NOW)


def test_a_tampered_salt_is_refused():
    c = issued()
    # a later expiry or another site written into the salt: its digest no longer is the signed challenge
    longer = c.salt.replace(f"expires={NOW + 600}", f"expires={NOW + 99999}")
    assert refused(tampered(c, salt=longer)) == "challenge_invalid"
    assert refused(tampered(c, salt=c.salt.replace("site=news", "site=other")), site="other") == "challenge_invalid"


@pytest.mark.parametrize("payload", ["", "not base64!", base64.b64encode(b"[1,2]").decode(),
                                     base64.b64encode(b"{}").decode(), "A" * 5000,
                                     base64.b64encode(b'{"algorithm":"SHA-512"}').decode()])
def test_malformed_payloads_are_refused(payload):
    assert refused(payload) == "challenge_invalid"


def test_a_solution_made_before_a_key_rotation_still_counts():
    old, new = Keyring("old-key-" + "x" * 32), Keyring("new-key-" + "y" * 32, previous=["old-key-" + "x" * 32])
    c = challenges.make(old.derived_keys("guest-challenge")[0], "news", now=NOW, ttl_seconds=600, maxnumber=10,
                        number=3)
    challenges.verify(new.derived_keys("guest-challenge"), challenges.encode_solution(c, 3), "news", now=NOW)
    # and the key is the proof of work's own: another purpose's key does not sign it
    assert refused(challenges.encode_solution(c, 3), keys=old.derived_keys("other")) == "challenge_invalid"


@pytest.mark.parametrize(("ip", "network"), [
    ("203.0.113.7", "203.0.113.0/24"),
    ("::ffff:203.0.113.7", "203.0.113.0/24"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"),
])
def test_networks_of_addresses(ip, network):
    assert challenges.network_of(ip) == network


def test_difficulty_doubles_past_the_free_allowance_and_stops_at_the_cap():
    d = guest_challenge.doublings
    assert d(0, 0) == 0 and d(guest_challenge.ADDRESS_FREE, 0) == 0
    assert d(guest_challenge.ADDRESS_FREE + 1, 0) == 1
    assert d(guest_challenge.ADDRESS_FREE + guest_challenge.ADDRESS_STEP + 1, 0) == 2
    assert d(0, guest_challenge.NETWORK_FREE + 1) == 1
    assert d(10_000, 10_000) == guest_challenge.MAX_DOUBLINGS
    assert guest_challenge.BASE_MAXNUMBER << guest_challenge.MAX_DOUBLINGS <= challenges.MAX_NUMBER


def test_the_fallback_store_remembers_a_solution_once_and_forgets_the_oldest():
    store = guest_challenge._LocalStore(max_keys=2)
    assert store.add_once("a", 60) and not store.add_once("a", 60)
    assert store.count("n", 1, 60) == 1 and store.count("n", 2, 60) == 3 and store.count("n", 0, 60) == 3
    store.add_once("b", 60)
    store.add_once("c", 60)
    assert store.add_once("a", 60)  # dropped as the oldest: the bound holds


def test_digits_of_the_number_cannot_be_moved_into_the_salt():
    # the hash is over salt + number: "…site=news&" + "417" must not read as "…site=news&4" + "17",
    # nor, before the closing "&", as another site's or a later expiry's solution
    c = issued(number=417)
    assert refused(tampered(c, salt=c.salt + "4", number=17)) == "challenge_invalid"
    assert refused(tampered(c, salt=c.salt[:-1] + "4&", number=17)) == "challenge_invalid"
