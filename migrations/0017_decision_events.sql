-- moderation.decision events only for moderators' decisions about a comment or a reader.
--
-- The audit log (moderation_actions) also records administration: sites and their settings,
-- articles' settings, tokens, webhooks, notes, featuring. Those are not decisions a webhook
-- receiver acts on, and some (token_*, webhook_*) would tell an endpoint about the service's own
-- security setup. The decisions are listed, not the rest left out, so an action added later is
-- announced only once someone decides it should be.

CREATE OR REPLACE FUNCTION outbox_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF outbox_enabled() AND NEW.action IN (
            -- on a comment (services/moderation_queue.py; a ban's rejections are "reject" entries)
            'approve', 'reject', 'undo',
            -- on a reader (services/user_moderation.py)
            'ban', 'suspend', 'unban', 'trust', 'untrust', 'premoderate', 'unpremoderate') THEN
        INSERT INTO outbox (site_id, kind, subject_id, payload)
        VALUES (NEW.site_id, 'moderation.decision', NEW.id,
                jsonb_build_object('action', NEW.action, 'comment_id', NEW.comment_id, 'user_id', NEW.user_id,
                                   'before', NEW.before_status, 'after', NEW.after_status));
        PERFORM pg_notify('outbox', '');
    END IF;
    RETURN NULL;
END $$;
