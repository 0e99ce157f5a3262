"""Seed the demo site, its article and a few comments; running it again changes nothing."""

from __future__ import annotations

import logging

from ..db import articles as article_repo
from ..db import comments as comment_repo
from ..db import users as user_repo
from ..db.pool import connect
from ..domain.render import render_markdown
from ..identity import Keyring
from ..runtime import secret_key
from ..services.sites import SiteDirectory
from ..settings import Settings

log = logging.getLogger("comments_service.demo")

SITE_ID = "demo"
ARTICLE_ID = "afghan-tajik-border-troops"
ARTICLE_TITLE = "Troops return to the Afghanistan–Tajikistan border as river crossings reopen"
# readers discussing a story about borders and troops; civil, with the vocabulary such news brings
COMMENTS = [
    ("Farida", "Good reporting. The Ishkashim market matters more to those villages than any outpost does.", None),
    ("Tom K.", "Is there any word on whether the *Khorog* road is open again? It was washed out in May.", None),
    ("Nodira", "Family in Rushan say the road opened last Thursday, but only for small trucks.", 1),
    ("Alex", "The article says smugglers used the crossings while the valley was cut off. Any numbers on that?", None),
    ("Tom K.", "Thanks, that helps. [The UN's situation report](https://reliefweb.int/) had the same.", 2),
]


async def seed_demo(settings: Settings) -> None:
    keyring = Keyring(secret_key(settings))
    public = settings.server.public_url.rstrip("/")
    origins = sorted({public, "http://127.0.0.1:8000", "http://localhost:8000"})
    conn = await connect(settings.database.url)
    try:
        async with conn.transaction():
            # a newcomer trying the demo votes right after their first comment; real sites keep the
            # default wait, which stops guests minted for a vote (domain/moderation.py)
            await SiteDirectory(None, keyring).save(  # type: ignore[arg-type]
                conn, site_id=SITE_ID, name="The Daily Meridian (demo)", origins=origins, sso_secret=None, guests=True,
                settings={"established_after_minutes": 0})
            article = await article_repo.get_or_create(conn, SITE_ID, ARTICLE_ID, f"{public}/demo", ARTICLE_TITLE)
            if article["comment_count"] > 0:
                return
            rows = []
            for name, body, parent_index in COMMENTS:
                user_id = await user_repo.create_guest(conn, SITE_ID, name)
                parent = rows[parent_index] if parent_index is not None else None
                row, _ = await comment_repo.insert(conn, article_id=article["id"], parent=parent, author_id=user_id,
                                                   body_markdown=body, body_html=render_markdown(body),
                                                   status="published", status_reason=None, author_ip=None)
                rows.append(row)
        log.info("demo seeded", extra={"site": SITE_ID, "article": ARTICLE_ID, "comments": len(COMMENTS)})
    finally:
        await conn.close()
