-- Webhooks: a site's admins register HTTPS endpoints that receive the outbox's events (migrations/0014)
-- as signed JSON (Standard Webhooks). The notifier makes one delivery per event and endpoint
-- (notification_deliveries, channel 'webhook', recipient = the endpoint's id) and sends it with
-- retries; each try is logged here. An endpoint failing for a day is disabled.

CREATE TABLE webhook_endpoints (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    url                 text NOT NULL CHECK (length(url) <= 2048),
    -- the whsec_ signing secret, sealed with the service's key (identity.Keyring.encrypt): it is
    -- needed in clear to sign, so it is stored encrypted, never in plain text
    secret_sealed       bytea NOT NULL,
    event_types         text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 32),
    description         text CHECK (length(description) <= 500),
    enabled             boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text,                   -- the audit log's actor id of whoever made it
    last_success_at     timestamptz,
    failing_since       timestamptz,            -- the first failure since the last success
    disabled_at         timestamptz,            -- set when the service disabled it (failing for a day)
    disabled_reason     text
);
CREATE INDEX webhook_endpoints_site ON webhook_endpoints (site_id, id);

-- The delivery log: one row per try, the last 1,000 per endpoint (older ones are trimmed as new
-- ones come), so that no endpoint grows state without bound.
CREATE TABLE webhook_attempts (
    id                  bigserial PRIMARY KEY,
    endpoint_id         bigint NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    delivery_id         bigint NOT NULL,        -- notification_deliveries.id (swept later; no reference)
    event_type          text NOT NULL,
    attempt             integer NOT NULL,
    status              integer,                -- the HTTP status, when one came back
    latency_ms          integer NOT NULL,
    error               text,                   -- null on success
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id DESC);
