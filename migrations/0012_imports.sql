-- Comments brought in from another comment system.

-- Each imported comment keeps the name of its source system and its id there, so that an import
-- run again (after a crash, or with a newer export) adds only what is not here yet.
ALTER TABLE comments ADD COLUMN source_system text, ADD COLUMN source_id text;
CREATE UNIQUE INDEX comments_source ON comments (site_id, source_system, source_id) WHERE source_id IS NOT NULL;

-- The author of an imported comment who is not one of the site's SSO users: a name from the source
-- and nothing anyone can sign in as (sign-in finds only 'sso' and 'guest' users).
ALTER TABLE users DROP CONSTRAINT users_kind_check;
ALTER TABLE users ADD CONSTRAINT users_kind_check CHECK (kind IN ('sso', 'guest', 'imported'));

-- An import may give a source author's comments to the SSO user with the same email.
CREATE INDEX users_sso_email ON users (site_id, lower(email)) WHERE kind = 'sso' AND email IS NOT NULL;

-- Imported comments scored on request wait behind every new comment: workers claim by priority first.
ALTER TABLE scoring_jobs ADD COLUMN priority smallint NOT NULL DEFAULT 0;
DROP INDEX scoring_jobs_queued;
CREATE INDEX scoring_jobs_queued ON scoring_jobs (priority, created_at, comment_id) WHERE state = 'queued';
