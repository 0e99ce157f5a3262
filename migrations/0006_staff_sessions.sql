-- Moderator console sessions: a moderator or admin signs in once with an API token or a staff SSO
-- token, and the browser then holds only an HttpOnly cookie naming the session. The cookie's value
-- is never stored: id_hash is its SHA-256, so a copy of this table opens no session.
--
-- A session made from an API token names the token: the lookup joins api_tokens and refuses a
-- revoked one, so revoking a token ends its sessions at once. A session made from an SSO token
-- ends no later than that token's exp (expires_at is the earlier of the two). last_seen_at moves at
-- most once a minute and gives the idle expiry; expired rows are purged when someone signs in.
CREATE TABLE staff_sessions (
    id_hash             bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    kind                text NOT NULL CHECK (kind IN ('api_token', 'sso')),
    api_token_id        bigint REFERENCES api_tokens(id) ON DELETE CASCADE,
    -- who, as the audit log names them: "token:<id>" or "sso:<site>:<sub>"
    staff_id            text NOT NULL,
    name                text NOT NULL,
    role                text NOT NULL CHECK (role IN ('moderator', 'admin')),
    site_id             text REFERENCES sites(id) ON DELETE CASCADE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    CHECK ((kind = 'api_token') = (api_token_id IS NOT NULL)),
    CHECK (kind = 'api_token' OR site_id IS NOT NULL)
);

-- the per-member cap (oldest sessions go first) and the purge of expired ones
CREATE INDEX staff_sessions_member ON staff_sessions (staff_id, created_at);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);
CREATE INDEX staff_sessions_token ON staff_sessions (api_token_id) WHERE api_token_id IS NOT NULL;
