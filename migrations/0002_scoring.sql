-- The durable scoring queue and the user facts the policy needs. (Workers report themselves in
-- worker_status, 0004.)

-- One job per comment. A job is 'queued' until a worker claims it; a claim is a lease: a worker
-- that dies leaves 'claimed' with claim_expires_at in the past, and the sweeper puts it back to
-- 'queued'. Completion checks claimed_by, so a worker whose lease was taken over cannot decide.
CREATE TABLE scoring_jobs (
    comment_id          bigint PRIMARY KEY REFERENCES comments(id) ON DELETE CASCADE,
    state               text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'claimed', 'done')),
    attempts            integer NOT NULL DEFAULT 0,
    claimed_by          text,
    claim_expires_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    scored_at           timestamptz,
    model_id            text,
    last_error          text
);
-- the claim reads the oldest queued jobs; the sweeper reads expired claims
CREATE INDEX scoring_jobs_queued ON scoring_jobs (created_at, comment_id) WHERE state = 'queued';
CREATE INDEX scoring_jobs_claimed ON scoring_jobs (claim_expires_at) WHERE state = 'claimed';
CREATE INDEX scoring_jobs_scored ON scoring_jobs (scored_at) WHERE state = 'done';

-- What the policy found beyond the reason code: the label or word-list entry that triggered it.
ALTER TABLE comments ADD COLUMN decision_detail jsonb;

-- Per-user moderation state (set by moderators): trusted users publish without review (unless
-- the article is premoderated), premoderated users are always held.
ALTER TABLE users ADD COLUMN trusted boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN premoderate boolean NOT NULL DEFAULT false;
