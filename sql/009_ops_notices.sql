-- Ops emails that must go once per period (the daily digest): the key is taken with the send.
-- (Its own migration: 008 had already been applied where it was first written.)
CREATE TABLE ops_notices (
    notice_key text PRIMARY KEY,                 -- e.g. ops_digest:2026-11-26
    sent_at    timestamptz NOT NULL DEFAULT now()
);
