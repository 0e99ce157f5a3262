-- The author drawer: moderators' private notes on a reader, and the index that finds a reader by
-- the start of their name.

-- Private to the site's moderators (readers never see them); each one is also in the audit log.
-- The service caps the notes per reader, so a drawer's list stays bounded.
CREATE TABLE moderator_notes (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    author_id           text NOT NULL,          -- the staff id, as in the audit log
    author_name         text NOT NULL,
    body                text NOT NULL CHECK (length(body) BETWEEN 1 AND 1000),
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderator_notes_user ON moderator_notes (user_id, id DESC);

-- A name search is a prefix of the lower-cased name within one site. In byte order ("C") a LIKE
-- prefix is one index range whatever the database's collation, and the same order serves the
-- ORDER BY, so a short prefix among many readers still reads only the page it returns.
CREATE INDEX users_name_prefix ON users (site_id, (lower(display_name) COLLATE "C"), id);
