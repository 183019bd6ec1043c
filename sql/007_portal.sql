-- The collector portal (FAQ 5, 8, 13, 14): accounts, single-use links, sessions, throttling,
-- and the audit of payment-detail changes. Secrets are stored only as hashes.

CREATE TABLE portal_accounts (
    account_id      bigserial PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = btrim(email) AND email <> ''),  -- case-folded
    role            text NOT NULL CHECK (role IN ('collector', 'ops')),
    collector_id    text UNIQUE REFERENCES collectors,
    password_hash   text,                         -- Argon2id (PHC string); NULL until set
    password_set_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'collector') = (collector_id IS NOT NULL)),
    CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%')
);

-- Set-password and reset links: only the SHA-256 of the token is kept.
CREATE TABLE portal_tokens (
    token_hash text PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES portal_accounts,
    purpose    text NOT NULL CHECK (purpose IN ('set_password', 'reset_password')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE portal_sessions (
    session_hash text PRIMARY KEY,                -- SHA-256 of the cookie's session id
    account_id   bigint NOT NULL REFERENCES portal_accounts,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- Every login attempt, for throttling per account and per client address.
CREATE TABLE portal_login_attempts (
    attempt_id bigserial PRIMARY KEY,
    email      text NOT NULL,
    client     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    succeeded  boolean NOT NULL
);
CREATE INDEX portal_login_attempts_email_idx ON portal_login_attempts (email, at);
CREATE INDEX portal_login_attempts_client_idx ON portal_login_attempts (client, at);

-- Who changed which payment details when; receivers masked, never whole.
CREATE TABLE payment_profile_changes (
    change_id       bigserial PRIMARY KEY,
    collector_id    text NOT NULL REFERENCES collectors,
    changed_by      text NOT NULL,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    old_method      text,
    old_receiver    text,                         -- masked
    new_method      text NOT NULL,
    new_receiver    text NOT NULL,                -- masked
    applies_from    date NOT NULL                 -- the first payout week that uses it
);

-- Things a collector should hear about (the notifications issue sends them).
CREATE TABLE collector_events (
    event_id     bigserial PRIMARY KEY,
    kind         text NOT NULL,
    collector_id text NOT NULL REFERENCES collectors,
    created_at   timestamptz NOT NULL DEFAULT now(),
    payload      jsonb NOT NULL DEFAULT '{}',     -- masked, never a secret
    processed_at timestamptz
);
CREATE INDEX collector_events_open_idx ON collector_events (kind, created_at) WHERE processed_at IS NULL;

-- The portal pages a collector's videos newest first.
CREATE INDEX videos_collector_recent_idx ON videos (collector_id, collected_at DESC, video_id);
