"""What the seed and the scenarios agree on: the bench site, its secret key and named articles."""

from __future__ import annotations

import os

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SITE_ID = "bench"
ORIGIN = "https://bench.example"
SSO_SECRET = "bench-sso-secret-0123456789abcdef0123"
SECRET_KEY = "bench-secret-key-" + "b" * 32
HOT_ARTICLE = "hot-500"  # R1 and R4
BIG_ARTICLE = "big-10k"  # R2
NAMED = {BIG_ARTICLE: 10_000, HOT_ARTICLE: 500}  # taken from the comment budget in this order


def database_url(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"
