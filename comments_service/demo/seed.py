"""The demo site, its article and a few comments; seeding again changes nothing."""

from __future__ import annotations

import logging

from ..services.demo_seed import DemoComment, DemoContent, DemoSeeder

log = logging.getLogger("comments_service.demo")

SITE_ID = "demo"
ARTICLE_ID = "afghan-tajik-border-troops"
ARTICLE_TITLE = "Troops return to the Afghanistan–Tajikistan border as river crossings reopen"
# readers discussing a story about borders and troops; civil, with the vocabulary such news brings
COMMENTS = [
    DemoComment(author="Farida", body="Good reporting. The Ishkashim market matters more to those villages than any "
                                      "outpost does."),
    DemoComment(author="Tom K.", body="Is there any word on whether the *Khorog* road is open again? It was washed "
                                      "out in May."),
    DemoComment(author="Nodira", body="Family in Rushan say the road opened last Thursday, but only for small "
                                      "trucks.", parent=1),
    DemoComment(author="Alex", body="The article says smugglers used the crossings while the valley was cut off. "
                                    "Any numbers on that?"),
    DemoComment(author="Tom K.", body="Thanks, that helps. [The UN's situation report](https://reliefweb.int/) had "
                                      "the same.", parent=2),
]


def demo_content(public_url: str) -> DemoContent:
    public = public_url.rstrip("/")
    return DemoContent(
        site_id=SITE_ID, site_name="The Daily Meridian (demo)",
        origins=sorted({public, "http://127.0.0.1:8000", "http://localhost:8000"}),
        site_settings={
            # a newcomer trying the demo votes right after their first comment; real sites keep the
            # default wait, which stops guests minted for a vote (domain/moderation.py)
            "established_after_minutes": 0,
            # no model could be loaded (a first run offline, before the download): the demo judges
            # with the offline fallback and the word lists rather than holding every comment for a
            # moderator nobody is; every other site holds them (fail closed, COMMENTS_TOXICITY_FAIL_CLOSED)
            "moderation": {"fail_closed": False},
            # the author is told what decided their comment and why (domain/judged_by.py)
            "explain_decisions": True,
        },
        external_id=ARTICLE_ID, article_url=f"{public}/demo", article_title=ARTICLE_TITLE, comments=COMMENTS)


async def seed_demo(seeder: DemoSeeder, public_url: str) -> bool:
    """False when a site with the demo's id exists and is not the demo (nothing was changed)."""
    result = await seeder.seed(demo_content(public_url))
    if result == "seeded":
        log.info("demo seeded", extra={"site": SITE_ID, "article": ARTICLE_ID, "comments": len(COMMENTS)})
    return result != "id_taken"
