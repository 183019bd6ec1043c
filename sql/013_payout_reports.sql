-- Finance's record of every weekly payout report (issue 17, item 6): one row per report
-- written, i.e. per finance_report try of a weekly_payout run, dry runs included. The files are
-- written exclusively (never overwritten) and their SHA-256 recorded here, so a later re-run
-- of the week adds a report beside the first one and cannot change it unnoticed; the portal
-- serves a report to ops by report_id only, never by a path someone typed.
CREATE TABLE payout_reports (
    report_id   bigserial PRIMARY KEY,
    week_start  date NOT NULL CHECK (extract(isodow FROM week_start) = 1),
    run_id      text NOT NULL CHECK (btrim(run_id) <> ''),   -- the Airflow run (or CLI caller)
    try_number  integer NOT NULL CHECK (try_number >= 1),    -- the finance_report task's try
    dry_run     boolean NOT NULL,
    batch_ids   bigint[] NOT NULL,            -- the batches it shows (a dry run's: rolled back, empty)
    total_cents bigint NOT NULL CHECK (total_cents >= 0),   -- what it asked finance to approve
    html_path   text NOT NULL UNIQUE,                        -- ObjectStoragePath URL of the page
    html_sha256 text NOT NULL CHECK (html_sha256 ~ '^[0-9a-f]{64}$'),
    csv_path    text NOT NULL UNIQUE,
    csv_sha256  text NOT NULL CHECK (csv_sha256 ~ '^[0-9a-f]{64}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, try_number)
);
CREATE INDEX payout_reports_week_idx ON payout_reports (week_start, created_at);

-- Append-only, like consent_withdrawals: what finance was shown is history.
CREATE FUNCTION payout_reports_are_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payout reports are final: % of report % refused; a re-run adds a new report',
        TG_OP, OLD.report_id;
END $$;
CREATE TRIGGER payout_reports_final BEFORE UPDATE OR DELETE ON payout_reports
    FOR EACH ROW EXECUTE FUNCTION payout_reports_are_final();
