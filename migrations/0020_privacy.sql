-- Readers' data rights and retention (services/privacy.py, PRIVACY.md).
--
-- An erased reader's reports stay with the comments they are about (the moderators' record of a
-- complaint) but name nobody: their reporter is unset. Several such reports of one comment do not
-- collide, as the unique constraint treats each NULL as distinct.
ALTER TABLE reports ALTER COLUMN reporter_id DROP NOT NULL;

-- The retention sweep clears what it finds oldest first, in batches: each batch is one range of
-- these indexes, and a row leaves its index once cleared, so a sweep never rereads what it did.
CREATE INDEX comments_ip_kept ON comments (created_at) WHERE author_ip IS NOT NULL;
CREATE INDEX problem_reports_agent_kept ON problem_reports (created_at) WHERE user_agent IS NOT NULL;
CREATE INDEX problem_reports_personal_kept ON problem_reports (created_at)
    WHERE user_id IS NOT NULL OR description <> '' OR troubleshoot <> '{}'::jsonb;
