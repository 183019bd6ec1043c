-- Collector emails (FAQ 2, 4, 8): an outbox with one row per collector, kind and period.
-- The unique key is written before sending, so a retry or a rerun never sends twice.

CREATE TABLE email_outbox (
    outbox_id    bigserial PRIMARY KEY,
    dedupe_key   text NOT NULL UNIQUE,           -- kind:collector:period
    kind         text NOT NULL,
    collector_id text NOT NULL REFERENCES collectors,
    recipient    text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',    -- what the template needs; never a secret
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX email_outbox_due_idx ON email_outbox (outbox_id) WHERE status IN ('pending', 'failed');

-- Digests are optional (transactional mail is not): who said no, and when.
CREATE TABLE email_preferences (
    collector_id           text PRIMARY KEY REFERENCES collectors,
    digest_unsubscribed_at timestamptz
);

-- "New collection near you": recent submissions by place, searched by a bounding box first.
CREATE INDEX videos_place_idx ON videos (latitude, longitude, collected_at)
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;
