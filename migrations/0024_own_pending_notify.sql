-- A reader's comment that starts awaiting review (pending_scoring or held) on an article, told to
-- every API process: a process that knows a signed-in reader has nothing awaiting review there
-- answers their page from its own memory, as it answers anonymous readers
-- (comments_service/services/own_pending.py), and must stop at once when that stops being true.
--
-- Every path that makes such a comment (a post, an edit sent back to scoring, a moderator or a
-- campaign holding a published comment, an import) goes through these triggers, so none can
-- forget to tell. Only changes into those statuses, or of a waiting comment's author or
-- article, are told: a comment leaving review never makes "nothing awaiting review" false.
--
-- Payload: the site, the article's external id and the reader, one per line; the reader is
-- 's:' and the SSO subject, or 'g:' and the user id (guests and others). The subject may hold
-- any character, so it comes last. A payload past NOTIFY's limit would fail the write that sent
-- it (an imported subject is not bounded as a signed-in one is): such a change is told as an
-- empty payload instead, which makes every process forget everything it knows. ENABLE ALWAYS: an
-- import (session_replication_role = replica) that writes a held comment must tell it too.
CREATE FUNCTION own_pending_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    article text;
    reader text;
    payload text;
BEGIN
    SELECT external_id INTO article FROM articles WHERE id = NEW.article_id;
    SELECT CASE WHEN kind = 'sso' THEN 's:' || external_id ELSE 'g:' || id END INTO reader
    FROM users WHERE id = NEW.author_id;
    payload := NEW.site_id || E'\n' || coalesce(article, '') || E'\n' || coalesce(reader, '');
    IF article IS NULL OR reader IS NULL OR octet_length(payload) > 4000 THEN
        payload := '';
    END IF;
    PERFORM pg_notify('own_pending', payload);
    RETURN NULL;
END $$;

CREATE TRIGGER comments_own_pending_insert AFTER INSERT ON comments
    FOR EACH ROW WHEN (NEW.status IN ('pending_scoring', 'held'))
    EXECUTE FUNCTION own_pending_notify();
CREATE TRIGGER comments_own_pending_change AFTER UPDATE OF status, author_id, article_id ON comments
    FOR EACH ROW WHEN (NEW.status IN ('pending_scoring', 'held')
                       AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.author_id IS DISTINCT FROM NEW.author_id
                            OR OLD.article_id IS DISTINCT FROM NEW.article_id))
    EXECUTE FUNCTION own_pending_notify();
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_own_pending_insert;
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_own_pending_change;
