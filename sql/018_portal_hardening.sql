-- Issue 21: login throttling that slows an attacker without locking the owner out, and a newer
-- set-password or reset link revoking the older ones.

-- Whether the attempt came from a browser known to the account (its signed device cookie):
-- failures from unknown browsers are what the per-account slowdown counts.
ALTER TABLE portal_login_attempts ADD COLUMN known_device boolean NOT NULL DEFAULT false;
CREATE INDEX portal_login_attempts_pair_idx ON portal_login_attempts (email, client, at);

-- When a newer link of the same account replaced this one (it no longer works).
ALTER TABLE portal_tokens ADD COLUMN superseded_at timestamptz;
CREATE INDEX portal_tokens_open_idx ON portal_tokens (account_id)
    WHERE used_at IS NULL AND superseded_at IS NULL;
