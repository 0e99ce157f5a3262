"""The HS256 verifier accepts and refuses exactly what PyJWT (which issues our tokens) does."""

from __future__ import annotations

import base64
import itertools
import json
import time

import jwt
import pytest

from comments_service import hs256

KEY = b"k" * 40
NOW = 1_800_000_000


def sign(claims: dict, key: bytes = KEY, header: dict | None = None) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers=header)


def raw_token(header: dict, claims: dict, key: bytes = KEY) -> str:
    """A token built by hand (for headers PyJWT would not write)."""
    def enc(obj: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=")

    signing_input = enc(header) + b"." + enc(claims)
    import hashlib
    import hmac
    sig = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + sig).decode()


def pyjwt_outcome(token: str, key: bytes, issuer: str | None, audience: str | None) -> str:
    try:
        jwt.decode(token, key, algorithms=["HS256"], issuer=issuer, audience=audience, leeway=30,
                   options={"require": ["exp"], "verify_aud": audience is not None})
        return "ok"
    except jwt.ExpiredSignatureError:
        return "expired"
    except jwt.InvalidAudienceError:
        return "audience"
    except jwt.MissingRequiredClaimError as exc:
        return f"missing:{exc.claim}"
    except jwt.PyJWTError:
        return "refused"


def our_outcome(token: str, key: bytes, issuer: str | None, audience: str | None) -> str:
    try:
        hs256.verify(token, key, issuer=issuer, audience=audience, leeway=30)
        return "ok"
    except hs256.TokenError as err:
        if err.kind in ("expired", "audience"):
            return err.kind
        if err.kind == "missing_claim":
            return f"missing:{err.claim}"
        return "refused"


def claim_choices() -> dict[str, list]:
    """Each registered claim's values, times relative to now: made when the test runs, not when the
    suite is collected (a long suite would otherwise see every "valid" token expired)."""
    now = time.time()
    return {
        "exp": [None, now + 600, now - 10, now - 600, int(now) + 5],
        "iat": [None, now - 5, now + 10, now + 600],
        "nbf": [None, now - 5, now + 600],
        "iss": [None, "comments_service", "someone-else"],
        "aud": [None, "site-a", ["site-b", "site-a"], "site-b", [], [1]],
        "sub": [None, "u1", 7],
    }


@pytest.mark.parametrize("issuer, audience", [(None, None), ("comments_service", None), (None, "site-a"),
                                              ("comments_service", "site-a")])
def test_agrees_with_pyjwt_on_every_combination_of_registered_claims(issuer, audience):
    choices = claim_choices()
    names = list(choices)
    seen = set()
    for values in itertools.product(*(choices[n] for n in names)):
        claims = {**{n: v for n, v in zip(names, values, strict=True) if v is not None}}
        for key in (KEY, b"another-key-" + b"x" * 30):
            token = sign(claims)
            expected = pyjwt_outcome(token, key, issuer, audience)
            assert our_outcome(token, key, issuer, audience) == expected, (claims, key, issuer, audience)
            seen.add(expected)
    # the matrix really exercised acceptance and each kind of refusal
    assert {"ok", "expired", "refused", "missing:exp"} <= seen


def test_returns_the_claims_of_a_valid_token():
    claims = {"sub": "u1", "name": "Ada", "exp": time.time() + 60, "role": "moderator"}
    assert hs256.verify(sign(claims), KEY) == claims


@pytest.mark.parametrize("header", [{"alg": "none", "typ": "JWT"}, {"alg": "HS512"}, {"alg": "hs256"}, {}])
def test_only_hs256_headers_are_accepted(header):
    token = raw_token(header, {"sub": "u", "exp": time.time() + 60})
    with pytest.raises(hs256.TokenError) as err:
        hs256.verify(token, KEY)
    assert err.value.kind == "signature"


def test_alg_none_with_an_empty_signature_is_refused():
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{enc({'alg': 'none'})}.{enc({'sub': 'u', 'exp': time.time() + 60})}."
    with pytest.raises(hs256.TokenError):
        hs256.verify(token, KEY)


def test_a_changed_payload_breaks_the_signature():
    head, _, sig = sign({"sub": "u", "exp": time.time() + 60}).split(".")
    forged = base64.urlsafe_b64encode(json.dumps({"sub": "admin", "exp": time.time() + 60}).encode()).rstrip(b"=")
    with pytest.raises(hs256.TokenError) as err:
        hs256.verify(f"{head}.{forged.decode()}.{sig}", KEY)
    assert err.value.kind == "signature"


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "not.a.jwt", "ü.ü.ü", "e30.e30", "W10.W10.",
                                   sign({"sub": "u", "exp": 1}) + "==", "e30=.e30.AAAA"])
def test_garbage_is_malformed_or_unsigned(token):
    with pytest.raises(hs256.TokenError) as err:
        hs256.verify(token, KEY)
    assert err.value.kind in ("malformed", "signature")


@pytest.mark.parametrize("exp", ["1900000000", True, None, [1]])
def test_non_numeric_dates_are_refused(exp):
    with pytest.raises(hs256.TokenError) as err:
        hs256.verify(sign({"sub": "u", "exp": exp}), KEY)
    assert err.value.kind == "malformed"


def test_leeway_applies_to_expiry_and_to_not_before():
    assert hs256.verify(sign({"exp": NOW - 20}), KEY, leeway=30, now=NOW)
    with pytest.raises(hs256.TokenError):
        hs256.verify(sign({"exp": NOW - 40}), KEY, leeway=30, now=NOW)
    assert hs256.verify(sign({"exp": NOW + 60, "nbf": NOW + 20}), KEY, leeway=30, now=NOW)
    with pytest.raises(hs256.TokenError) as err:
        hs256.verify(sign({"exp": NOW + 60, "nbf": NOW + 40}), KEY, leeway=30, now=NOW)
    assert err.value.kind == "immature"


def test_unverified_claims_reads_without_a_key():
    assert hs256.unverified_claims(sign({"iss": "x", "exp": 1}, key=b"whatever-key-" + b"z" * 30))["iss"] == "x"
    with pytest.raises(hs256.TokenError):
        hs256.unverified_claims("not-a-token")


@pytest.mark.parametrize("claims", [
    {"exp": 10**400}, {"exp": -(10**400)}, {"exp": 1e300}, {"exp": -1e300}, {"exp": time.time() + 600, "iat": 10**400},
    {"exp": time.time() + 600, "nbf": 1e300}, {"exp": time.time() + 600, "iat": -(10**400), "nbf": -1e300},
])
def test_dates_beyond_a_float_agree_with_pyjwt(claims):
    """float() of an integer past 1e308 overflows; the dates are compared as they are."""
    token = sign(claims)
    assert our_outcome(token, KEY, None, None) == pyjwt_outcome(token, KEY, None, None)


def _segment(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("where", ["header", "payload"])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_past_the_stack_is_malformed(where, opener):
    deep = opener * 5_000 + "1" + ("]" if opener == "[" else "}") * 5_000
    header, payload = '{"alg":"HS256"}', '{"exp":1}'
    if where == "header":
        header = '{"alg":"HS256","x":' + deep + "}"
    else:
        payload = '{"exp":1,"x":' + deep + "}"
    token = f"{_segment(header)}.{_segment(payload)}.{_segment('s')}"
    for read in (hs256.unverified_claims, lambda t: hs256.verify(t, KEY)):
        with pytest.raises(hs256.TokenError) as err:
            read(token)
        assert err.value.kind == "malformed"
