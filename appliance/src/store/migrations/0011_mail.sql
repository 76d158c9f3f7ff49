-- Invitations by e-mail (mail.rs). `emailed` (0004) is set once the SMTP server has accepted
-- the message; `email_error` keeps why a server refused it for good (a 5xx for the address or
-- the message), so it is not tried again and the element's admins can see it. An invitation
-- with neither is still queued.
ALTER TABLE invitations ADD COLUMN email_error TEXT;
DROP INDEX invitations_unsent;
CREATE INDEX invitations_unsent ON invitations (created)
    WHERE email IS NOT NULL AND emailed IS NULL AND email_error IS NULL;
