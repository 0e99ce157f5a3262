-- An SSO reader's subscription to their own address follows that address when their site's
-- tokens start naming another one. The address in the subscription is a copy made when they
-- subscribed; the reader changes it at their site, not here, so a copy left alone would keep
-- writing to an inbox that may no longer be theirs. A subscription to any other address (a guest's,
-- or one an SSO reader typed in and confirmed) is not theirs by sign-in and stays as it is.
--
-- follows_sso is set when the address was the reader's own as they subscribed; the subscriptions
-- made before this column existed are taken to follow when their address is still the one stored
-- for their SSO user (the comparison ignores case, as the stored address and the subscription's
-- may differ in the case of their domain).

ALTER TABLE notification_subscriptions ADD COLUMN follows_sso boolean NOT NULL DEFAULT false;

UPDATE notification_subscriptions s SET follows_sso = true
FROM users u
WHERE u.id = s.user_id AND u.kind = 'sso' AND lower(u.email) = lower(s.email);
