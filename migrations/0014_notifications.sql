-- Notifications through a transactional outbox.
--
-- Every change worth telling someone about writes an outbox row in the transaction that makes it,
-- by a trigger, so that no path (a reader's post, the scoring worker, a moderator's decision, a
-- bulk decision, a ban, an undo) can make the change and forget the event, and a rolled-back
-- change leaves none. The notifier (services/notifications.py, `comments-service notifier`) turns
-- each event into deliveries, one per recipient and channel, and delivers them with retries.
--
-- An import writes history, not news: its sessions set comments_service.outbox = 'off' (and
-- one that writes with session_replication_role = replica fires none of these triggers, which
-- are left ENABLE ORIGIN for that reason).

CREATE TABLE outbox (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL,
    -- comment.published, comment.held, comment.rejected, report.created, problem_report.created,
    -- moderation.decision
    kind                text NOT NULL,
    subject_id          bigint NOT NULL,        -- the comment, report, problem report or audit entry
    payload             jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    fanned_out_at       timestamptz             -- set once its deliveries exist
);
CREATE INDEX outbox_pending ON outbox (id) WHERE fanned_out_at IS NULL;
CREATE INDEX outbox_done ON outbox (fanned_out_at) WHERE fanned_out_at IS NOT NULL;

CREATE FUNCTION outbox_enabled() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('comments_service.outbox', true), '') <> 'off'
$$;

CREATE FUNCTION outbox_comment() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        VALUES (NEW.site_id, 'comment.' || NEW.status, NEW.id,
                jsonb_build_object('article_id', NEW.article_id, 'parent_id', NEW.parent_id,
                                   'author_id', NEW.author_id,
                                   'before', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END));
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER comments_outbox_insert AFTER INSERT ON comments
    FOR EACH ROW WHEN (NEW.status IN ('published', 'held', 'rejected'))
    EXECUTE FUNCTION outbox_comment();
CREATE TRIGGER comments_outbox_status AFTER UPDATE OF status ON comments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN ('published', 'held', 'rejected'))
    EXECUTE FUNCTION outbox_comment();

CREATE FUNCTION outbox_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        SELECT c.site_id, 'report.created', NEW.id,
               jsonb_build_object('comment_id', NEW.comment_id, 'reason', NEW.reason,
                                  'open_reports', c.open_reports)
        FROM comments c WHERE c.id = NEW.comment_id;
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER reports_outbox AFTER INSERT ON reports FOR EACH ROW EXECUTE FUNCTION outbox_report();

CREATE FUNCTION outbox_problem_report() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        VALUES (NEW.site_id, 'problem_report.created', NEW.id,
                jsonb_build_object('reference', NEW.reference, 'article_id', NEW.article_external_id));
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER problem_reports_outbox AFTER INSERT ON problem_reports
    FOR EACH ROW EXECUTE FUNCTION outbox_problem_report();

CREATE FUNCTION outbox_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        VALUES (NEW.site_id, 'moderation.decision', NEW.id,
                jsonb_build_object('action', NEW.action, 'comment_id', NEW.comment_id, 'user_id', NEW.user_id,
                                   'before', NEW.before_status, 'after', NEW.after_status));
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER moderation_actions_outbox AFTER INSERT ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION outbox_decision();

-- A reader's wish to hear of replies: to one comment of theirs ('comment') or to everything new
-- in an article ('article'). A guest's address counts only once confirmed (double opt-in: a
-- guest must never make us write to someone else); an SSO reader's is their token's email.
CREATE TABLE notification_subscriptions (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scope               text NOT NULL CHECK (scope IN ('comment', 'article')),
    article_id          bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    comment_id          bigint REFERENCES comments(id) ON DELETE CASCADE,
    email               text NOT NULL CHECK (length(email) <= 254),
    confirmed_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- the last reply email, which the next waits behind (one per interval: a burst is one email)
    last_sent_at        timestamptz,
    CHECK ((scope = 'comment') = (comment_id IS NOT NULL))
);
CREATE UNIQUE INDEX notification_subscriptions_comment ON notification_subscriptions (user_id, comment_id)
    WHERE scope = 'comment';
CREATE UNIQUE INDEX notification_subscriptions_article ON notification_subscriptions (user_id, article_id)
    WHERE scope = 'article';
CREATE INDEX notification_subscriptions_on_comment ON notification_subscriptions (comment_id)
    WHERE scope = 'comment' AND confirmed_at IS NOT NULL;
CREATE INDEX notification_subscriptions_on_article ON notification_subscriptions (article_id)
    WHERE scope = 'article' AND confirmed_at IS NOT NULL;
CREATE INDEX notification_subscriptions_user ON notification_subscriptions (user_id);

-- One message to one recipient on one channel. The idempotency key names what it announces for
-- whom, so a fan-out run twice makes no second delivery, and it is what a receiver sees as the
-- message's identity (Message-ID, webhook-id): a resend after a crash between sending and
-- recording it is recognisably the same message.
CREATE TABLE notification_deliveries (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    channel             text NOT NULL CHECK (channel IN ('email', 'webhook')),
    kind                text NOT NULL,          -- reply_digest, confirm_email, ...
    recipient           text NOT NULL,          -- an email address, or a webhook endpoint's id
    subscription_id     bigint REFERENCES notification_subscriptions(id) ON DELETE CASCADE,
    idempotency_key     text NOT NULL UNIQUE,
    payload             jsonb NOT NULL DEFAULT '{}',
    state               text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'dead')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,            -- claimed by a notifier until then
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz
);
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE state = 'queued';
-- a subscription's reply digest still open for more replies
CREATE INDEX notification_deliveries_open_digest ON notification_deliveries (subscription_id)
    WHERE state = 'queued' AND kind = 'reply_digest';
CREATE INDEX notification_deliveries_site_state ON notification_deliveries (site_id, state, created_at);
