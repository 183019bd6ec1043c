-- Dropbox delivery (FAQ 3): links made on the portal, and what reached which app folder.

-- One link per collector; the refresh token only encrypted (collector.vault), key_id says
-- which key did it so `collector dropbox rotate-keys` knows what to re-encrypt.
CREATE TABLE dropbox_links (
    collector_id       text PRIMARY KEY REFERENCES collectors,
    dropbox_account_id text NOT NULL,
    refresh_token_enc  text NOT NULL,
    key_id             text NOT NULL,
    status             text NOT NULL CHECK (status IN ('linked', 'broken')),
    broken_reason      text,
    broken_at          timestamptz,
    linked_at          timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'broken') = (broken_at IS NOT NULL))
);

-- The portal's pending link requests: state (hashed) -> PKCE verifier (encrypted), 10 minutes.
CREATE TABLE dropbox_link_requests (
    state_hash   text PRIMARY KEY,
    collector_id text NOT NULL REFERENCES collectors,
    verifier_enc text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);

-- Files delivered, per Dropbox account (a re-link to another account delivers again).
CREATE TABLE dropbox_deliveries (
    dropbox_account_id text NOT NULL,
    path_lower         text NOT NULL,
    collector_id       text NOT NULL,
    content_hash       text NOT NULL,
    bytes              bigint NOT NULL,
    delivered_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dropbox_account_id, path_lower)
);
