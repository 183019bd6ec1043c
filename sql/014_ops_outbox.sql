-- Ops alerts (one email per failed task) through an outbox, like the collectors' email_outbox
-- (008): the alert is written before its SMTP call, so an SMTP outage delays it instead of
-- losing it, and it is claimed ('sending', committed) before the call, so it goes out once.
-- email_outbox does not fit: its rows belong to a collector (FK) and are rendered from templates.

CREATE TABLE ops_outbox (
    alert_id   bigserial PRIMARY KEY,
    dedupe_key text NOT NULL UNIQUE,            -- dag.task.run.map_index.try: queued once
    recipients text[] NOT NULL CHECK (cardinality(recipients) > 0),
    subject    text NOT NULL,
    html       text NOT NULL,                   -- rendered and redacted by the notifier
    text_body  text NOT NULL,                   -- its plain-text alternative
    status     text NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts   integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz
);
CREATE INDEX ops_outbox_due_idx ON ops_outbox (alert_id) WHERE status IN ('pending', 'failed');
