"""The link rules on a small hand-written set of spam and legitimate comments.

    .venv/bin/python -m bench.spam_eval [--data bench/spam_eval.jsonl]

Each line of the data is {"text", "label": "spam" | "ham", "kind"}: casino and crypto pitches,
SEO comments and shortener or look-alike spam, against comments citing news sources, government
pages and the site's own articles (the site is https://news.example), and comments with no link.
No model scores the texts (scores None, fail_closed off), so what keeps a comment out is the
policy's rules alone: the link rules and the built-in word lists.

For each author (a new account with no published comment, an established one) and each config
(the default, and the default with a site allow-list of common news and government domains) it
prints how much spam is kept out (held or rejected: recall, and precision of what is kept out)
and how many legitimate comments with links are held.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from comments_service.domain.policy import PolicyConfig, PolicyContext, decide, site_hosts

DATA = Path(__file__).with_name("spam_eval.jsonl")
SITE_ORIGINS = ["https://news.example"]
ALLOW = ["bbc.co.uk", "bbc.com", "reuters.com", "theguardian.com", "apnews.com", "ft.com", "nytimes.com",
         "lemonde.fr", "gov.uk", "parliament.uk", "europa.eu", "cdc.gov", "wikipedia.org", "nature.com",
         "youtube.com"]
AUTHORS = {"new account": PolicyContext(user_published_count=0, site_hosts=site_hosts(SITE_ORIGINS)),
           "established": PolicyContext(user_published_count=25, site_hosts=site_hosts(SITE_ORIGINS))}
CONFIGS = {
    "default": PolicyConfig(fail_closed=False),
    "default + allow list": PolicyConfig.from_site_settings(
        {"moderation": {"links": {"allow_domains": ALLOW}}}, fail_closed=False),
}


def evaluate(rows: list[dict], ctx: PolicyContext, cfg: PolicyConfig) -> dict[str, float | int]:
    kept_out = spam_out = spam = ham_links = ham_links_held = 0
    for row in rows:
        out = decide(None, row["text"], ctx, cfg).outcome != "published"
        is_spam = row["label"] == "spam"
        spam += is_spam
        kept_out += out
        spam_out += out and is_spam
        if not is_spam and row["kind"] != "plain":
            ham_links += 1
            ham_links_held += out
    return {"spam": spam, "spam_kept_out": spam_out, "recall": spam_out / spam if spam else 0.0,
            "precision": spam_out / kept_out if kept_out else 1.0,
            "ham_with_links": ham_links, "ham_links_held": ham_links_held,
            "ham_links_held_share": ham_links_held / ham_links if ham_links else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"{len(rows)} comments: {sum(r['label'] == 'spam' for r in rows)} spam, "
          f"{sum(r['label'] == 'ham' for r in rows)} legitimate")
    print(f"{'config':<22} {'author':<12} {'recall':>7} {'precision':>9} {'legit links held':>17}")
    for cname, cfg in CONFIGS.items():
        for aname, ctx in AUTHORS.items():
            m = evaluate(rows, ctx, cfg)
            print(f"{cname:<22} {aname:<12} {m['recall']:>7.2f} {m['precision']:>9.2f} "
                  f"{m['ham_links_held']:>5}/{m['ham_with_links']:<3} ({m['ham_links_held_share']:.0%})")


if __name__ == "__main__":
    main()
