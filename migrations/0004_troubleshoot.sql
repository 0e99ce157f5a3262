-- Problem reports filed by readers from the troubleshooter, and what each scoring worker says
-- about itself (model in use, throughput, latency) so that API processes, which load no model,
-- can report it in health and diagnostics.

CREATE TABLE problem_reports (
    id                  bigserial PRIMARY KEY,
    -- what the reader quotes to the site; random so that it reveals nothing about volume
    reference           text NOT NULL UNIQUE,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id             bigint REFERENCES users(id) ON DELETE SET NULL,
    article_external_id text,
    comment_id          bigint,
    description         text NOT NULL,
    -- the troubleshooter's checks as the reader saw them when reporting
    troubleshoot        jsonb NOT NULL,
    user_agent          text,
    request_id          text,
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    resolution          text,
    closed_by           text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz
);
CREATE INDEX problem_reports_site_status ON problem_reports (site_id, status, id DESC);
CREATE INDEX problem_reports_status ON problem_reports (status, id DESC);

CREATE TABLE worker_status (
    worker_id           text PRIMARY KEY,
    hostname            text NOT NULL,
    pid                 integer NOT NULL,
    started_at          timestamptz NOT NULL,
    heartbeat_at        timestamptz NOT NULL DEFAULT now(),
    -- the scorer's describe(): model_id, backend, variant, source, load_seconds, fallback_reason
    model               jsonb NOT NULL DEFAULT '{}'::jsonb,
    is_fallback         boolean NOT NULL DEFAULT false,
    jobs_scored         bigint NOT NULL DEFAULT 0,
    batches             bigint NOT NULL DEFAULT 0,
    -- p50/p95/p99 (ms) of batch scoring and of enqueue-to-decision over the worker's recent window
    latency_ms          jsonb NOT NULL DEFAULT '{}'::jsonb,
    throughput_per_min  double precision NOT NULL DEFAULT 0
);
