-- Moderation: user standing (bans, trust, premoderation), reader reports, the append-only audit
-- log, article auto-close, and the indexes behind the moderation queues.

-- 0002 (scoring) may already have added these; the policy reads them, moderators set them.
ALTER TABLE users ADD COLUMN IF NOT EXISTS trusted boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN IF NOT EXISTS premoderate boolean NOT NULL DEFAULT false;

-- One row per banned user and site; unbanning deletes it (the audit log keeps the history).
CREATE TABLE bans (
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    until               timestamptz,            -- NULL: until lifted
    reason              text,
    note                text,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, user_id)
);

CREATE TABLE reports (
    id                  bigserial PRIMARY KEY,
    comment_id          bigint NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    reporter_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason              text NOT NULL CHECK (reason IN ('offensive', 'spam', 'off_topic', 'other')),
    note                text CHECK (length(note) <= 1000),
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- set when a moderator decides the comment; an undo of that decision reopens the reports
    resolved_action_id  bigint,
    UNIQUE (comment_id, reporter_id)
);
CREATE INDEX reports_open ON reports (comment_id) WHERE resolved_action_id IS NULL;
CREATE INDEX reports_resolved_by ON reports (resolved_action_id) WHERE resolved_action_id IS NOT NULL;

-- Queue bookkeeping on the comment itself, so that each queue page is one index range.
-- site_id is denormalised from the article (filled by a trigger): a queue is always per site and
-- a join through articles cannot keep a site's held comments in index order.
ALTER TABLE comments ADD COLUMN site_id text;
ALTER TABLE comments ADD COLUMN open_reports integer NOT NULL DEFAULT 0;
ALTER TABLE comments ADD COLUMN reported_at timestamptz;
ALTER TABLE comments ADD COLUMN moderated_at timestamptz;
ALTER TABLE comments ADD COLUMN moderated_by text;

UPDATE comments c SET site_id = a.site_id FROM articles a WHERE a.id = c.article_id AND c.site_id IS NULL;

CREATE FUNCTION comments_fill_site_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.site_id IS NULL THEN
        SELECT site_id INTO NEW.site_id FROM articles WHERE id = NEW.article_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER comments_fill_site_id BEFORE INSERT ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_fill_site_id();

-- The highest model score of a comment (any label), -1 when it has none: the "score" sort key.
-- Accepts {"label": p, ...} and {"scores": {"label": p, ...}, ...}.
CREATE FUNCTION comment_max_score(t jsonb) RETURNS real LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(e.value::text::real), -1)
    FROM jsonb_each(CASE WHEN jsonb_typeof(t -> 'scores') = 'object' THEN t -> 'scores'
                         WHEN jsonb_typeof(t) = 'object' THEN t
                         ELSE '{}'::jsonb END) AS e
    WHERE jsonb_typeof(e.value) = 'number'
$$;

-- held queue, per site and across sites (unscoped admin tokens), by age and by score
CREATE INDEX comments_queue_held_oldest ON comments (site_id, created_at, id) WHERE status = 'held';
CREATE INDEX comments_queue_held_score ON comments (site_id, comment_max_score(toxicity) DESC, id DESC)
    WHERE status = 'held';
CREATE INDEX comments_queue_held_all ON comments (created_at, id) WHERE status = 'held';
CREATE INDEX comments_queue_held_all_score ON comments (comment_max_score(toxicity) DESC, id DESC)
    WHERE status = 'held';
-- reported queue: published comments with open reports
CREATE INDEX comments_queue_reported ON comments (site_id, created_at, id)
    WHERE status = 'published' AND open_reports > 0;
-- views of decided comments: rejected (by model or moderator), approved by a moderator
CREATE INDEX comments_queue_rejected ON comments (site_id, created_at, id) WHERE status = 'rejected';
CREATE INDEX comments_queue_approved ON comments (site_id, created_at, id)
    WHERE status = 'published' AND moderated_at IS NOT NULL;
-- the author's history (counts per status) by index-only scans
CREATE INDEX comments_author_status ON comments (author_id, status);

-- Article auto-close: a site setting (settings->>'auto_close_days') closes articles older than
-- that; a moderator who reopens an article explicitly exempts it.
ALTER TABLE articles ADD COLUMN auto_close boolean NOT NULL DEFAULT true;

-- The audit log: every moderation action. Append-only: the database itself refuses changes.
CREATE TABLE moderation_actions (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL,
    actor_id            text NOT NULL,          -- "token:<id>" or "sso:<site>:<sub>"
    actor_name          text NOT NULL,
    action              text NOT NULL,
    comment_id          bigint,
    user_id             bigint,
    article_id          bigint,
    before_status       text,
    after_status        text,
    reason              text,
    note                text,
    details             jsonb,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_site ON moderation_actions (site_id, id DESC);
CREATE INDEX moderation_actions_comment ON moderation_actions (comment_id, id DESC) WHERE comment_id IS NOT NULL;
CREATE INDEX moderation_actions_user ON moderation_actions (user_id, id DESC) WHERE user_id IS NOT NULL;
CREATE INDEX moderation_actions_actor ON moderation_actions (actor_id, id DESC);

CREATE FUNCTION moderation_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'moderation_actions is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER moderation_actions_no_update BEFORE UPDATE OR DELETE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION moderation_actions_append_only();
CREATE TRIGGER moderation_actions_no_truncate BEFORE TRUNCATE ON moderation_actions
    FOR EACH STATEMENT EXECUTE FUNCTION moderation_actions_append_only();
