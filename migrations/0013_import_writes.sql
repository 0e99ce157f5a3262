-- A large import writes with session_replication_role = replica when its role may
-- (db/imports.check_references_per_batch): it checks each batch's references itself, one statement
-- per referenced table, instead of three foreign-key trigger calls per row. That role skips every
-- trigger that is not ENABLE ALWAYS, so ours, which fill a column, announce a change to the
-- moderators or guard the audit log, fire in every role; only the foreign keys' internal triggers
-- are left to the role.
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_fill_site_id;
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_queue_insert;
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_queue_change;
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_follow_visibility;
ALTER TABLE comments ENABLE ALWAYS TRIGGER comments_drop_featured;
ALTER TABLE moderation_actions ENABLE ALWAYS TRIGGER moderation_actions_no_update;
ALTER TABLE moderation_actions ENABLE ALWAYS TRIGGER moderation_actions_no_truncate;
