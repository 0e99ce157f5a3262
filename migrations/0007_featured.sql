-- Featured comments (an editor's pick) and one pinned comment per article.
--
-- featured_at orders an article's picks, newest pick first; featured_by is the moderator who made
-- it (the audit log has the rest). The thread's first page reads the picks through the partial
-- index below, in the same statement as the page (comments_service/db/comments.THREAD_PAGE), so a
-- cached read costs nothing more and a refill no extra round trip.
ALTER TABLE comments ADD COLUMN featured_at timestamptz, ADD COLUMN featured_by text;
CREATE INDEX comments_featured ON comments (article_id, featured_at DESC) WHERE featured_at IS NOT NULL;

-- A pinned comment is shown first; a comment that is deleted for good takes its pin with it.
ALTER TABLE articles ADD COLUMN pinned_comment_id bigint REFERENCES comments(id) ON DELETE SET NULL;
-- a deleted comment clears its pin: without this index every comment deletion scans articles
CREATE INDEX articles_pinned ON articles (pinned_comment_id) WHERE pinned_comment_id IS NOT NULL;

-- A comment that stops being published (rejected, deleted by its author, removed, back to scoring
-- after an edit) stops being featured or pinned, in the statement that changes its status: readers
-- never see a pick that is not published, and a comment published again (an undone rejection, an
-- edit that passed scoring) does not come back as a pick no moderator chose for its current state.
-- It also keeps the cache sound: such a publication can be an append (domain/page_parts.py), which
-- keeps cached pages that could not hold the pick.
CREATE FUNCTION comments_drop_featured() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.featured_at := NULL;
    NEW.featured_by := NULL;
    UPDATE articles SET pinned_comment_id = NULL WHERE id = NEW.article_id AND pinned_comment_id = NEW.id;
    RETURN NEW;
END
$$;

CREATE TRIGGER comments_drop_featured BEFORE UPDATE OF status ON comments
    FOR EACH ROW WHEN (OLD.status = 'published' AND NEW.status <> 'published')
    EXECUTE FUNCTION comments_drop_featured();
