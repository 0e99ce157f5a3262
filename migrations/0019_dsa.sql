-- The EU Digital Services Act: notices of illegal content (Art. 16), statements of reasons
-- (Art. 17), internal complaints or appeals (Art. 20); the transparency export (Art. 15/24) reads
-- these tables and the audit log (services/dsa.py).
--
-- Statements of reasons are written by triggers, like the outbox (0014): a comment becomes
-- rejected, or held by the automatic moderation for what it says, through several paths (a post
-- refused by the word lists, the scoring worker, a moderator's decision, a bulk decision, a ban's
-- rejections, an undo), and a ban is made or replaced by a ban or a suspension. A trigger on the
-- row that changes is the one place none of those paths can miss, and it writes in the
-- transaction of the decision: a rolled-back decision leaves no statement, a committed one always
-- has its statement. What the row alone cannot say (that a decision answers a notice) the
-- service says through the transaction-local setting comments_service.dsa_notice.

CREATE TABLE dsa_notices (
    id                  bigserial PRIMARY KEY,
    -- what the notifier keeps (N-XXXX-XXXX, random): the receipt, and with the appeal key an appeal
    reference           text NOT NULL UNIQUE CHECK (reference ~ '^N-[0-9A-Z]{4}-[0-9A-Z]{4}$'),
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- kept when the comment is deleted for good (a site's retention): the notice stays on record
    comment_id          bigint REFERENCES comments(id) ON DELETE SET NULL,
    category            text NOT NULL CHECK (category IN (
                            'illegal_hate_speech', 'terrorist_content', 'child_sexual_abuse_material',
                            'defamation', 'privacy_violation', 'intellectual_property', 'fraud_or_scam',
                            'other_illegal')),
    explanation         text NOT NULL CHECK (length(explanation) BETWEEN 1 AND 5000),
    -- both required except for child sexual abuse material (Art. 16(2)(c)): the service checks
    notifier_name       text CHECK (length(notifier_name) <= 200),
    notifier_email      text CHECK (length(notifier_email) <= 254),
    received_at         timestamptz NOT NULL DEFAULT now(),
    decision            text CHECK (decision IN ('remove', 'keep')),
    decision_reason     text,
    decision_explanation text CHECK (length(decision_explanation) <= 5000),
    decided_by          text,
    decided_by_name     text,
    decided_at          timestamptz,
    CHECK ((decision IS NULL) = (decided_at IS NULL))
);
CREATE INDEX dsa_notices_site_time ON dsa_notices (site_id, received_at);
CREATE INDEX dsa_notices_open ON dsa_notices (site_id, received_at) WHERE decided_at IS NULL;
CREATE INDEX dsa_notices_comment ON dsa_notices (comment_id);

CREATE TABLE statements_of_reasons (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    user_id             bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    comment_id          bigint REFERENCES comments(id) ON DELETE CASCADE,     -- NULL for a ban
    -- removal: rejected; visibility_restriction: held by the automatic moderation for what it says;
    -- suspension: a ban with an end; termination: a ban until lifted
    restriction         text NOT NULL CHECK (restriction IN ('removal', 'visibility_restriction', 'suspension',
                                                             'termination')),
    until               timestamptz,                -- a suspension's end
    reason_code         text,                       -- the comment's status reason, or the ban's reason
    rules_text          text,                       -- the site's rule for that code, as it read then
    -- what brought the content to a decision
    source              text NOT NULL CHECK (source IN ('automated', 'notice', 'reader_report',
                                                        'own_initiative')),
    notice_id           bigint REFERENCES dsa_notices(id) ON DELETE SET NULL,
    automated_detection boolean NOT NULL,
    automated_decision  boolean NOT NULL,
    decided_by          text,                       -- the staff member; NULL: the automatic moderation
    out_of_court        text,                       -- the site's out-of-court settlement text, as it read then
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- the restriction ended (approved, unbanned, replaced by another, reversed on appeal)
    lifted_at           timestamptz
);
CREATE INDEX statements_of_reasons_user ON statements_of_reasons (user_id, id DESC);
CREATE INDEX statements_of_reasons_comment ON statements_of_reasons (comment_id) WHERE lifted_at IS NULL;
CREATE INDEX statements_of_reasons_site_time ON statements_of_reasons (site_id, created_at);

CREATE TABLE dsa_appeals (
    id                  bigserial PRIMARY KEY,
    site_id             text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    -- an author appeals a statement; a notifier appeals the decision on their notice (kept)
    statement_id        bigint UNIQUE REFERENCES statements_of_reasons(id) ON DELETE CASCADE,
    notice_id           bigint UNIQUE REFERENCES dsa_notices(id) ON DELETE CASCADE,
    appellant           text NOT NULL CHECK (appellant IN ('author', 'notifier')),
    explanation         text NOT NULL CHECK (length(explanation) BETWEEN 1 AND 5000),
    first_decided_by    text,                       -- who took the decision appealed; NULL: automated
    created_at          timestamptz NOT NULL DEFAULT now(),
    outcome             text CHECK (outcome IN ('reverse', 'confirm')),
    outcome_explanation text CHECK (length(outcome_explanation) <= 5000),
    decided_by          text,
    decided_by_name     text,
    decided_at          timestamptz,
    CHECK ((statement_id IS NULL) <> (notice_id IS NULL)),
    CHECK ((appellant = 'author') = (statement_id IS NOT NULL)),
    CHECK ((outcome IS NULL) = (decided_at IS NULL))
);
CREATE INDEX dsa_appeals_site_time ON dsa_appeals (site_id, created_at);
CREATE INDEX dsa_appeals_open ON dsa_appeals (site_id, created_at) WHERE decided_at IS NULL;

-- The statement goes to its author by email where their address is known (an SSO reader's, from
-- their latest token; guests have none), as a delivery the notifier sends (services/notifications.py).
-- A hold awaiting a moderator is told by the widget at once and mostly ends within minutes: only
-- removals, suspensions and bans are mailed.
CREATE FUNCTION dsa_statement_mail(statement_id bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s statements_of_reasons%ROWTYPE;
    address text;
BEGIN
    SELECT * INTO s FROM statements_of_reasons WHERE id = statement_id;
    IF s.restriction = 'visibility_restriction' THEN
        RETURN;
    END IF;
    SELECT email INTO address FROM users WHERE id = s.user_id;
    IF address IS NULL OR address = '' THEN
        RETURN;
    END IF;
    INSERT INTO notification_deliveries (site_id, channel, kind, recipient, idempotency_key, payload)
    VALUES (s.site_id, 'email', 'statement', address, 'statement:' || s.id,
            jsonb_build_object('statement_id', s.id, 'restriction', s.restriction, 'until', s.until,
                               'reason_code', s.reason_code, 'rules_text', s.rules_text, 'source', s.source,
                               'automated_detection', s.automated_detection,
                               'automated_decision', s.automated_decision, 'out_of_court', s.out_of_court,
                               'created_at', s.created_at))
    ON CONFLICT (idempotency_key) DO NOTHING;
    PERFORM pg_notify('outbox', '');
END $$;

-- A comment's statement. An import writes history, not decisions: its sessions turn the outbox
-- off (outbox_enabled(), 0014), and that turns statements off too.
CREATE FUNCTION dsa_comment_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dsa jsonb;
    notice bigint := nullif(current_setting('comments_service.dsa_notice', true), '')::bigint;
    -- a moderator's decision sets moderated_at (services/moderation_queue.py); the scoring worker
    -- and the post path never touch it, and may find an old moderator's mark on an edited comment
    human boolean := TG_OP = 'UPDATE' AND NEW.moderated_by IS NOT NULL
                     AND NEW.moderated_at IS DISTINCT FROM OLD.moderated_at;
    flagged boolean := TG_OP = 'UPDATE' AND OLD.status = 'held'
                       AND OLD.status_reason IN ('toxicity_hold', 'suspect_word', 'toxicity_reject', 'banned_word');
    src text;
    made bigint;
BEGIN
    IF NOT outbox_enabled() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- whatever held or removed it before has ended or been replaced by this change
        UPDATE statements_of_reasons SET lifted_at = now() WHERE comment_id = NEW.id AND lifted_at IS NULL;
    END IF;
    IF NEW.status = 'rejected'
       OR (NEW.status = 'held' AND NEW.status_reason IN ('toxicity_hold', 'suspect_word')) THEN
        SELECT settings->'dsa' INTO dsa FROM sites WHERE id = NEW.site_id;
        src := CASE WHEN notice IS NOT NULL THEN 'notice'
                    WHEN NOT human OR flagged THEN 'automated'
                    WHEN OLD.open_reports > 0 THEN 'reader_report'
                    ELSE 'own_initiative' END;
        INSERT INTO statements_of_reasons (site_id, user_id, comment_id, restriction, reason_code, rules_text,
                                           source, notice_id, automated_detection, automated_decision,
                                           decided_by, out_of_court)
        VALUES (NEW.site_id, NEW.author_id, NEW.id,
                CASE WHEN NEW.status = 'rejected' THEN 'removal' ELSE 'visibility_restriction' END,
                NEW.status_reason, dsa->'rules'->>NEW.status_reason, src, notice,
                src = 'automated', NOT human, CASE WHEN human THEN NEW.moderated_by END, dsa->>'out_of_court')
        RETURNING id INTO made;
        PERFORM dsa_statement_mail(made);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER comments_dsa_statement_insert AFTER INSERT ON comments
    FOR EACH ROW WHEN (NEW.status IN ('rejected', 'held'))
    EXECUTE FUNCTION dsa_comment_statement();
-- only changes into or out of a restriction: a publication (the hot path) never calls it
CREATE TRIGGER comments_dsa_statement_status AFTER UPDATE OF status ON comments
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       AND (OLD.status IN ('rejected', 'held') OR NEW.status IN ('rejected', 'held')))
    EXECUTE FUNCTION dsa_comment_statement();

-- A ban's statement (services/user_moderation.py makes, replaces and lifts bans; the row is the one
-- place every path meets). A replaced ban's statement is lifted: the new one says what holds now.
CREATE FUNCTION dsa_ban_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dsa jsonb;
    target bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    made bigint;
BEGIN
    IF NOT outbox_enabled() THEN
        RETURN NULL;
    END IF;
    UPDATE statements_of_reasons SET lifted_at = now()
    WHERE user_id = target AND comment_id IS NULL AND lifted_at IS NULL;
    IF TG_OP <> 'DELETE' THEN
        SELECT settings->'dsa' INTO dsa FROM sites WHERE id = NEW.site_id;
        INSERT INTO statements_of_reasons (site_id, user_id, restriction, until, reason_code, rules_text, source,
                                           automated_detection, automated_decision, decided_by, out_of_court)
        VALUES (NEW.site_id, NEW.user_id, CASE WHEN NEW.until IS NULL THEN 'termination' ELSE 'suspension' END,
                NEW.until, NEW.reason, dsa->'rules'->>NEW.reason, 'own_initiative', false, false, NEW.created_by,
                dsa->>'out_of_court')
        RETURNING id INTO made;
        PERFORM dsa_statement_mail(made);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER bans_dsa_statement AFTER INSERT OR UPDATE OR DELETE ON bans
    FOR EACH ROW EXECUTE FUNCTION dsa_ban_statement();
