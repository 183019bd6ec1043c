-- Weekly payouts (FAQ 13): payment profiles, and a ledger that pays every accepted video once.
-- Money is integer cents; weeks are Monday 00:00 to Monday 00:00 America/New_York.

-- What a collector entered under Profile, validated and normalized (collector/payouts.py).
CREATE TABLE payment_profiles (
    collector_id text PRIMARY KEY REFERENCES collectors,
    method       text NOT NULL CHECK (method IN ('paypal', 'payoneer')),
    receiver     text NOT NULL CHECK (receiver <> ''),  -- PayPal email or Payoneer payee id
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT 'system'
);

-- One batch per week, provider and attempt. A new attempt for a week exists only once the
-- previous one is closed (rejected, cancelled, denied or reconciled): the partial unique index
-- is what makes a second trigger for the same week resume instead of freezing again.
CREATE TABLE payout_batches (
    batch_id      bigserial PRIMARY KEY,
    week_start    date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    provider      text NOT NULL CHECK (provider IN ('paypal', 'payoneer')),
    attempt       integer NOT NULL CHECK (attempt >= 1),
    state         text NOT NULL CHECK (state IN ('draft', 'approved', 'submitted', 'reconciled',
                                                 'rejected', 'cancelled', 'denied')),
    currency      text NOT NULL DEFAULT 'USD',
    item_count    integer NOT NULL CHECK (item_count > 0),
    total_cents   bigint NOT NULL CHECK (total_cents > 0),
    frozen_at     timestamptz NOT NULL DEFAULT now(),
    frozen_by     text NOT NULL,                 -- the Airflow run (or CLI) that froze it
    approved_at   timestamptz,
    approved_by   text,
    submitted_at  timestamptz,
    closed_at     timestamptz,
    state_reason  text,                          -- why it was rejected, denied or cancelled
    UNIQUE (week_start, provider, attempt),
    CHECK (state NOT IN ('approved', 'submitted', 'reconciled') OR approved_by IS NOT NULL)
);
CREATE UNIQUE INDEX payout_batches_one_open_idx ON payout_batches (week_start, provider)
    WHERE state IN ('draft', 'approved', 'submitted');

-- One provider request per chunk (PayPal takes at most 15,000 items a request). The key is
-- written when the batch is frozen, before any call: a retry sends the same key again.
CREATE TABLE payout_submissions (
    batch_id          bigint NOT NULL REFERENCES payout_batches,
    chunk             integer NOT NULL CHECK (chunk >= 1),
    idempotency_key   text NOT NULL UNIQUE,      -- PayPal sender_batch_id
    provider_batch_id text,                      -- PayPal payout_batch_id, once known
    attempted_at      timestamptz,               -- a call may have reached the provider
    accepted_at       timestamptz,               -- the provider holds this chunk
    last_error        text,
    PRIMARY KEY (batch_id, chunk)
);

-- One line per collector and batch: what the provider is asked to send.
CREATE TABLE payout_items (
    item_id          bigserial PRIMARY KEY,
    batch_id         bigint NOT NULL,
    chunk            integer NOT NULL,
    collector_id     text NOT NULL REFERENCES collectors,
    provider         text NOT NULL,
    receiver         text NOT NULL,
    amount_cents     bigint NOT NULL CHECK (amount_cents > 0),
    currency         text NOT NULL DEFAULT 'USD',
    idempotency_key  text NOT NULL UNIQUE,       -- PayPal sender_item_id, Payoneer client_reference_id
    status           text NOT NULL CHECK (status IN ('frozen', 'pending', 'paid', 'unclaimed',
                                                     'failed', 'returned', 'released')),
    provider_item_id text,
    provider_status  text,
    failure_reason   text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, collector_id),
    FOREIGN KEY (batch_id, chunk) REFERENCES payout_submissions
);
CREATE INDEX payout_items_collector_idx ON payout_items (collector_id);
CREATE INDEX payout_items_open_idx ON payout_items (status) WHERE status IN ('pending', 'unclaimed');

-- The accepted videos each item pays. A claim is released when its item is rejected, failed
-- or returned, and the video rolls into the next batch; the released rows stay as history.
CREATE TABLE payout_item_videos (
    item_id            bigint NOT NULL REFERENCES payout_items,
    video_id           text NOT NULL REFERENCES videos,
    collection_id      text NOT NULL,
    collection_version integer NOT NULL,
    video_week         date NOT NULL,            -- the payout week the video was collected in
    pay_cents          integer NOT NULL CHECK (pay_cents >= 0),
    bonus_cents        integer NOT NULL CHECK (bonus_cents >= 0),
    claimed_at         timestamptz NOT NULL DEFAULT now(),
    released_at        timestamptz,
    PRIMARY KEY (item_id, video_id),
    CHECK (pay_cents + bonus_cents > 0)
);
-- A video is paid at most once: one live claim per video, whatever the week or provider.
CREATE UNIQUE INDEX payout_item_videos_once_idx ON payout_item_videos (video_id)
    WHERE released_at IS NULL;

-- Collectors with accepted videos who were not paid this week, and why (the report shows them).
CREATE TABLE payout_holds (
    week_start   date NOT NULL,
    collector_id text NOT NULL REFERENCES collectors,
    reason       text NOT NULL,
    video_count  integer NOT NULL,
    amount_cents bigint NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (week_start, collector_id)
);

-- Every state change of a batch or item, with who did it: finance's audit trail.
CREATE TABLE payout_events (
    event_id   bigserial PRIMARY KEY,
    batch_id   bigint NOT NULL REFERENCES payout_batches,
    item_id    bigint REFERENCES payout_items,
    at         timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL,
    actor      text NOT NULL,
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX payout_events_batch_idx ON payout_events (batch_id);
