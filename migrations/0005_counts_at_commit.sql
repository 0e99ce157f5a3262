-- Counters that follow a comment's visibility (the article's comment_count and version, the
-- parent's reply_count) move, when a comment's status changes, in a trigger deferred to commit
-- instead of in the service's own statements. The article's row is then locked only while the
-- transaction commits: before, the lock was taken by an UPDATE in the middle of the transaction and
-- held across the client's round trips until its COMMIT, so on a busy process every publication to
-- a breaking story queued behind the previous one's event-loop wait. Each status change adds its
-- own delta, so several changes of one comment in one transaction add up to the net change. A
-- comment inserted as published moves the same counters in its own INSERT statement
-- (comments_service/db/comments.INSERT), which returns the article's row to the poster. Both call
-- count_visibility, so the rule is written once.
--
-- last_root_at: the newest created_at among the article's top-level comments ever published; it
-- never goes back. A publication within APPEND_WINDOW of it is an "append", and an oldest-first page
-- whose last comment is older than it by more than that window cannot be changed by an append:
-- the cache keeps such pages across appends (comments_service/domain/page_parts.py). NULL: nothing
-- published yet (or since this column was added, for articles without comments).
ALTER TABLE articles ADD COLUMN last_root_at timestamptz;

UPDATE articles a SET last_root_at = m.latest
FROM (SELECT article_id, max(created_at) AS latest FROM comments
      WHERE parent_id IS NULL AND status IN ('published', 'deleted') GROUP BY article_id) m
WHERE m.article_id = a.id;

-- The counters of one comment whose visibility moved by delta (+1 published, -1 no longer
-- published, 0 nothing): the parent's reply_count, then the article's comment_count, version and
-- last_root_at. Returns the article's row as it left it (none when delta is 0). The parent's row
-- is locked before the article's, the order a reply's post takes them in (it reads its parent FOR
-- UPDATE first).
CREATE FUNCTION count_visibility(p_article bigint, p_parent bigint, p_created timestamptz, delta integer)
RETURNS SETOF articles LANGUAGE plpgsql AS $$
BEGIN
    IF delta = 0 THEN
        RETURN;
    END IF;
    IF p_parent IS NOT NULL THEN
        UPDATE comments SET reply_count = reply_count + delta WHERE id = p_parent;
    END IF;
    RETURN QUERY
    UPDATE articles SET comment_count = comment_count + delta, version = version + 1,
        last_root_at = CASE WHEN delta > 0 AND p_parent IS NULL
                            THEN GREATEST(last_root_at, p_created) ELSE last_root_at END
    WHERE id = p_article RETURNING *;
END
$$;

CREATE FUNCTION comments_follow_visibility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_visibility(NEW.article_id, NEW.parent_id, NEW.created_at,
                             (NEW.status = 'published')::integer - (OLD.status = 'published')::integer);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER comments_follow_visibility AFTER UPDATE OF status ON comments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION comments_follow_visibility();
