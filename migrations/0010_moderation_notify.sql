-- The moderation queues, live: every committed change that moves a comment into or out of the held
-- or reported queue sends a NOTIFY on 'moderation_queue', whatever made it (a moderator's decision,
-- a bulk decision, a ban that rejects a user's comments, the scoring worker, an author's edit or
-- delete, a reader's report, an undo). API processes LISTEN and tell the moderators' consoles
-- (comments_service/services/moderation_events.py). NOTIFY is transactional: a rolled-back change
-- sends nothing, a committed one is delivered at commit.
--
-- The triggers' WHEN clauses keep the post path as it was: a comment inserted as published or
-- pending_scoring, and a status change that touches neither queue (pending_scoring -> published
-- without reports, a vote, an edit of a plain comment), never calls the function.
--
-- Payload (JSON, well under the 8000-byte limit): s site, c comment id, a article (row id), o status before (null for
-- an insert), n status after, ro/r open reports before/after, by the moderator who decided (set
-- only when this change is their decision: moderated_at moved), at when.
CREATE FUNCTION moderation_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    decided boolean := TG_OP = 'UPDATE' AND NEW.moderated_at IS NOT NULL
                       AND NEW.moderated_at IS DISTINCT FROM OLD.moderated_at;
BEGIN
    PERFORM pg_notify('moderation_queue', json_build_object(
        's', NEW.site_id, 'c', NEW.id, 'a', NEW.article_id,
        'o', CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, 'n', NEW.status,
        'ro', CASE WHEN TG_OP = 'UPDATE' THEN OLD.open_reports ELSE 0 END, 'r', NEW.open_reports,
        -- bounded, so the payload can never pass the limit and fail the change that sent it
        'by', CASE WHEN decided THEN left(NEW.moderated_by, 1000) END,
        'at', CASE WHEN decided THEN NEW.moderated_at END)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER comments_queue_insert AFTER INSERT ON comments
    FOR EACH ROW WHEN (NEW.status = 'held' OR NEW.open_reports > 0)
    EXECUTE FUNCTION moderation_queue_notify();

CREATE TRIGGER comments_queue_change AFTER UPDATE OF status, open_reports ON comments
    FOR EACH ROW WHEN (
        (OLD.status IS DISTINCT FROM NEW.status
            AND (OLD.status = 'held' OR NEW.status = 'held' OR OLD.open_reports > 0 OR NEW.open_reports > 0))
        OR OLD.open_reports IS DISTINCT FROM NEW.open_reports)
    EXECUTE FUNCTION moderation_queue_notify();
