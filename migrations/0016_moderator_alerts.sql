-- Moderators' email alerts, each moderator's own choice per site: an email for each new problem
-- report, an email when a comment's open reports reach a threshold, and a digest of the held queue
-- every N minutes while something waits (services/notifications.py fans them out; the console's
-- moderators set them through /api/v1/moderation/alerts).
CREATE TABLE moderator_alerts (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    staff_id            text NOT NULL,          -- "token:<id>" or "sso:<site>:<sub>", as in the audit log
    staff_name          text NOT NULL,
    email               text NOT NULL CHECK (length(email) <= 254),
    problem_reports     boolean NOT NULL DEFAULT false,
    report_threshold    integer CHECK (report_threshold BETWEEN 1 AND 1000),
    held_digest_minutes integer CHECK (held_digest_minutes BETWEEN 5 AND 1440),
    last_digest_at      timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, staff_id)
);
CREATE INDEX moderator_alerts_digest ON moderator_alerts (site_id) WHERE held_digest_minutes IS NOT NULL;
