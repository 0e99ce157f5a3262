-- The language a reader reads our emails in (comments_service/i18n.py): the one their widget asked
-- for (its lang= parameter, else the browser's Accept-Language) when they subscribed to replies,
-- filed a notice of illegal content or appealed. The notifier writes each email to them in it, and
-- the pages their links open too; NULL (rows from before, or a request that named no language we
-- have) is English, and the pages then follow the browser that opens them.
--
-- The statement of reasons a trigger mails (0019) carries no language of its own: the notifier
-- takes its author's latest one from their subscriptions and appeals on the site.
ALTER TABLE notification_subscriptions ADD COLUMN locale text CHECK (locale ~ '^[a-z]{2,3}$');
ALTER TABLE dsa_notices ADD COLUMN notifier_locale text CHECK (notifier_locale ~ '^[a-z]{2,3}$');
ALTER TABLE dsa_appeals ADD COLUMN locale text CHECK (locale ~ '^[a-z]{2,3}$');
