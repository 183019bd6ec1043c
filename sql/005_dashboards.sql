-- One Google Sheet per collector: where it is, what it last showed, and whether writing failed.
CREATE TABLE collector_dashboards (
    collector_id   text PRIMARY KEY REFERENCES collectors,
    spreadsheet_id text NOT NULL UNIQUE,
    sheet_ids      jsonb NOT NULL,               -- tab title -> sheetId, so writes need no lookup
    layout         jsonb NOT NULL DEFAULT '{}',   -- rows reserved per tab (changes are rare)
    content_hash   text,                          -- NULL until the first successful write
    refreshed_at   timestamptz,
    last_error     text,
    error_at       timestamptz
);

-- Pipeline-owned sheets that are rewritten whole (the ops summary) skip unchanged writes.
ALTER TABLE managed_spreadsheets ADD COLUMN content_hash text;
