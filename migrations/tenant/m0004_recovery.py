NAME = "notice e-mail delivery state"

# email_state: '' (not e-mailed), 'sending' (handed to the mail server; a crash
# here leaves it 'sending', never sent again automatically), 'sent',
# 'retrying' (a retry is scheduled), 'failed' (retries exhausted).
# email_error holds a reason code ('unreachable', 'rejected'), never exception text.
SQL = r"""
ALTER TABLE notice ADD COLUMN email_state text NOT NULL DEFAULT ''
        CHECK (email_state IN ('', 'sending', 'sent', 'retrying', 'failed')),
    ADD COLUMN email_attempts integer NOT NULL DEFAULT 0;
UPDATE notice SET email_state = 'sent' WHERE emailed_at IS NOT NULL;
UPDATE notice SET email_state = 'failed', email_error = 'unreachable' WHERE emailed_at IS NULL AND email_error <> '';
"""
