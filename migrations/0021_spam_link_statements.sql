-- A comment held by the link rules (reason spam_link: a shortener, a raw address, too many links,
-- a new account's link) is held for what it says, as a toxicity or suspect-word hold is: its author
-- gets a statement of reasons (Art. 17 DSA) too. The function of 0019 with that reason added.

CREATE OR REPLACE FUNCTION dsa_comment_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dsa jsonb;
    notice bigint := nullif(current_setting('comments_service.dsa_notice', true), '')::bigint;
    -- a moderator's decision sets moderated_at (services/moderation_queue.py); the scoring worker
    -- and the post path never touch it, and may find an old moderator's mark on an edited comment
    human boolean := TG_OP = 'UPDATE' AND NEW.moderated_by IS NOT NULL
                     AND NEW.moderated_at IS DISTINCT FROM OLD.moderated_at;
    flagged boolean := TG_OP = 'UPDATE' AND OLD.status = 'held'
                       AND OLD.status_reason IN ('toxicity_hold', 'suspect_word', 'toxicity_reject', 'banned_word',
                                                  'spam_link');
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
       OR (NEW.status = 'held' AND NEW.status_reason IN ('toxicity_hold', 'suspect_word', 'spam_link')) THEN
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
