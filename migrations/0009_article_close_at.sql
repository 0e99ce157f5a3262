-- The console's articles: a moderator may schedule an article's comments to close at a date, and
-- the article list and an article's moderation thread need per-article counts and times that stay
-- cheap at 10,000 articles and 100,000 held comments.

-- When a moderator scheduled comments to close (NULL: no schedule). It closes alongside the site's
-- auto_close_days, whichever comes first (domain/moderation.closes_at).
ALTER TABLE articles ADD COLUMN close_at timestamptz;

-- Each article's comments per status in time order. It replaces comments_article_status (the same
-- leading columns, so every lookup that used it still has its range, the foreign key's cascade
-- included), and adds, without one more index to maintain on each write: the newest comment of an
-- article per status (one backward step: the list's "last comment" and its activity order) and the
-- number held (an index-only range).
CREATE INDEX comments_article_status_time ON comments (article_id, status, created_at);
DROP INDEX comments_article_status;

-- The reported comments of one article (the list's reported count); small: only comments with
-- open reports are in it.
CREATE INDEX comments_article_reported ON comments (article_id) WHERE status = 'published' AND open_reports > 0;

-- A site's articles, newest first (the list's "newest" order).
CREATE INDEX articles_site_newest ON articles (site_id, created_at DESC, id DESC);
