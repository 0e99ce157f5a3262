-- Indexes behind the console's statistics view and the audit log's filters.

-- Statistics count a site's comments by the day they were posted, with the columns that say what
-- the automatic moderation decided (status, its reason, whether a moderator changed it since), so
-- that a week of a busy site is one index-only range scan instead of a walk over all its comments.
CREATE INDEX comments_site_created ON comments (site_id, created_at)
    INCLUDE (id, status, status_reason, moderated_at);

-- The audit log by date range (the filters and the statistics' per-day moderator decisions), by
-- action (a rare action among many approvals), by article, and by moderator on one site (the
-- filter, and the list of who acted on a site, read by a skip scan).
CREATE INDEX moderation_actions_site_actor ON moderation_actions (site_id, actor_id, id DESC);
CREATE INDEX moderation_actions_site_time ON moderation_actions (site_id, created_at);
CREATE INDEX moderation_actions_site_action ON moderation_actions (site_id, action, id DESC);
CREATE INDEX moderation_actions_article ON moderation_actions (article_id, id DESC) WHERE article_id IS NOT NULL;

-- Reports and problem reports per day (reports carry no site: the statistics join their comment).
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX problem_reports_site_created ON problem_reports (site_id, created_at);
