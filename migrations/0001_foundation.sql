-- Sites, articles, users, threaded comments and votes.

CREATE TABLE sites (
    id                  text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name                text NOT NULL,
    allowed_origins     text[] NOT NULL DEFAULT '{}',
    -- the SSO secret is needed in clear to verify HS256 signatures, so it is stored encrypted
    -- with the service's secret key (AES-GCM), never in plain text
    sso_secret_enc      bytea,
    guest_commenting    boolean NOT NULL DEFAULT false,
    allow_images        boolean NOT NULL DEFAULT false,
    settings            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE articles (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    external_id         text NOT NULL,
    url                 text NOT NULL,
    title               text NOT NULL,
    comments_open       boolean NOT NULL DEFAULT true,
    premoderation       boolean NOT NULL DEFAULT false,
    comment_count       integer NOT NULL DEFAULT 0,
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, external_id)
);

CREATE TABLE users (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('sso', 'guest')),
    external_id         text NOT NULL,
    display_name        text NOT NULL,
    email               text,
    role                text NOT NULL DEFAULT 'reader' CHECK (role IN ('reader', 'moderator', 'admin')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site_id, kind, external_id)
);

CREATE TABLE comments (
    id                  bigserial PRIMARY KEY,
    article_id          bigint NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    parent_id           bigint REFERENCES comments(id) ON DELETE CASCADE,
    root_id             bigint,
    depth               smallint NOT NULL DEFAULT 0,
    -- ids from the root down to this comment: ordering by it yields a subtree depth-first
    path                bigint[] NOT NULL DEFAULT '{}',
    author_id           bigint NOT NULL REFERENCES users(id),
    body_markdown       text NOT NULL,
    body_html           text NOT NULL,
    status              text NOT NULL CHECK (status IN ('pending_scoring', 'published', 'held', 'rejected', 'deleted')),
    status_reason       text,
    toxicity            jsonb,
    toxicity_model      text,
    reply_count         integer NOT NULL DEFAULT 0,
    score               integer NOT NULL DEFAULT 0,
    upvotes             integer NOT NULL DEFAULT 0,
    downvotes           integer NOT NULL DEFAULT 0,
    author_ip           inet,
    created_at          timestamptz NOT NULL DEFAULT now(),
    edited_at           timestamptz,
    deleted_at          timestamptz
);

-- top-level pages per sort order (published and tombstones)
CREATE INDEX comments_top_oldest ON comments (article_id, created_at, id)
    WHERE parent_id IS NULL AND status IN ('published', 'deleted');
CREATE INDEX comments_top_score ON comments (article_id, score DESC, id DESC)
    WHERE parent_id IS NULL AND status IN ('published', 'deleted');
-- replies of one comment, oldest first
CREATE INDEX comments_replies ON comments (parent_id, created_at, id)
    WHERE status IN ('published', 'deleted');
CREATE INDEX comments_subtree ON comments (root_id, path);
CREATE INDEX comments_author ON comments (author_id, created_at DESC);
CREATE INDEX comments_article_status ON comments (article_id, status);

CREATE TABLE votes (
    comment_id          bigint NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    value               smallint NOT NULL CHECK (value IN (-1, 1)),
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (comment_id, user_id)
);

CREATE TABLE api_tokens (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL,
    role                text NOT NULL CHECK (role IN ('moderator', 'admin')),
    site_id             text REFERENCES sites(id) ON DELETE CASCADE,
    token_hash          bytea NOT NULL UNIQUE,
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_used_at        timestamptz,
    revoked_at          timestamptz
);
