-- Spam defenses that a toxicity model cannot see.
--
-- Copy-paste campaigns (services/repeats.py): nearly the same text from several authors within a
-- window. The post path finds them in Redis; a campaign found is stored here so that its comments
-- are grouped in the queue and decided in one action.
CREATE TABLE spam_campaigns (
    id          bigserial PRIMARY KEY,
    site_id     text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- the MinHash signature of the text that started it (domain/fingerprint.py), base64
    signature   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- when a moderator decided the whole campaign
    decided_at  timestamptz,
    decided_by  text
);
CREATE INDEX spam_campaigns_site ON spam_campaigns (site_id, created_at DESC);
ALTER TABLE comments ADD COLUMN campaign_id bigint REFERENCES spam_campaigns(id) ON DELETE SET NULL;
CREATE INDEX comments_campaign ON comments (campaign_id) WHERE campaign_id IS NOT NULL;

-- Surges (services/surge.py): an article that many new accounts flood premoderates new accounts'
-- comments until the surge has passed. surge_until moves on while the surge goes on; the notifier's
-- sweep ends a surge whose time is up (audited, announced).
ALTER TABLE articles ADD COLUMN surge_started_at timestamptz;
ALTER TABLE articles ADD COLUMN surge_until timestamptz;
CREATE INDEX articles_in_surge ON articles (surge_until) WHERE surge_until IS NOT NULL;

-- Shadow restriction (services/user_moderation.py): the author's new comments are held and shown
-- to them alone. How this squares with statements of reasons is in SECURITY.md.
ALTER TABLE users ADD COLUMN shadow_restricted boolean NOT NULL DEFAULT false;

-- A comment held as part of a copy campaign or for a shadow-restricted author is held for what it
-- is or who wrote it, as a link or toxicity hold is: its author gets a statement of reasons
-- (Art. 17 DSA). The function of 0021 with those reasons added.

CREATE OR REPLACE FUNCTION dsa_comment_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dsa jsonb;
    notice bigint := nullif(current_setting('comments_service.dsa_notice', true), '')::bigint;
    -- a moderator's decision sets moderated_at (services/moderation_queue.py); the scoring worker
    -- and the post path never touch it, and may find an old moderator's mark on an edited comment
    human boolean := TG_OP = 'UPDATE' AND NEW.moderated_by IS NOT NULL
                     AND NEW.moderated_at IS DISTINCT FROM OLD.moderated_at;
    flagged boolean := TG_OP = 'UPDATE' AND OLD.status = 'held'
                       AND OLD.status_reason IN ('toxicity_hold', 'suspect_word', 'toxicity_reject', 'banned_word',
                                                  'spam_link', 'copy_campaign', 'shadow_restricted');
    src text;
    made bigint;
BEGIN
    IF NOT outbox_enabled() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- whatever held or removed it before has ended or been replaced by this change
        UPDATE statements_of_reasons SET lifted_at = now() WHERE comment_id = NEW.id AND lifted_at IS NULL;
    END IF;
    IF NEW.status = 'rejected'
       OR (NEW.status = 'held' AND NEW.status_reason IN ('toxicity_hold', 'suspect_word', 'spam_link',
                                                       'copy_campaign', 'shadow_restricted')) THEN
        SELECT settings->'dsa' INTO dsa FROM sites WHERE id = NEW.site_id;
        -- a shadow-restricted author's hold was no automated detection but a moderator's own initiative
        -- about the author; the system only applied it to this comment (automated_decision)
        src := CASE WHEN notice IS NOT NULL THEN 'notice'
                    WHEN NOT human AND NEW.status_reason = 'shadow_restricted' THEN 'own_initiative'
                    WHEN flagged AND OLD.status_reason = 'shadow_restricted' THEN 'own_initiative'
                    WHEN NOT human OR flagged THEN 'automated'
                    WHEN OLD.open_reports > 0 THEN 'reader_report'
                    ELSE 'own_initiative' END;
        INSERT INTO statements_of_reasons (site_id, user_id, comment_id, restriction, reason_code, rules_text,
                                           source, notice_id, automated_detection, automated_decision,
                                           decided_by, out_of_court)
        VALUES (NEW.site_id, NEW.author_id, NEW.id,
                CASE WHEN NEW.status = 'rejected' THEN 'removal' ELSE 'visibility_restriction' END,
                NEW.status_reason, dsa->'rules'->>NEW.status_reason, src, notice,
                src = 'automated', NOT human, CASE WHEN human THEN NEW.moderated_by END, dsa->>'out_of_court')
        RETURNING id INTO made;
        PERFORM dsa_statement_mail(made);
    END IF;
    RETURN NULL;
END $$;

-- A shadow restriction, set or lifted, is a moderator's decision about a reader like premoderation
-- is: announced as a moderation.decision event. The function of 0017 with those actions added.
CREATE OR REPLACE FUNCTION outbox_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() AND NEW.action IN (
            -- on a comment (services/moderation_queue.py; a ban's rejections are "reject" entries)
            'approve', 'reject', 'undo',
            -- on a reader (services/user_moderation.py)
            'ban', 'suspend', 'unban', 'trust', 'untrust', 'premoderate', 'unpremoderate',
            'shadow_restrict', 'lift_shadow_restriction') THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        VALUES (NEW.site_id, 'moderation.decision', NEW.id,
                jsonb_build_object('action', NEW.action, 'comment_id', NEW.comment_id, 'user_id', NEW.user_id,
                                   'before', NEW.before_status, 'after', NEW.after_status));
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;
