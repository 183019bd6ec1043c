-- How each collector's dashboard was shared (issue 20): 'direct' (a permission for her Google
-- account, no email) or 'invitation' (her address has no Google account, so Google emailed her
-- an invitation). NULL: not shared with anyone (a collector id that is no address), or made
-- before this column existed.
ALTER TABLE collector_dashboards
    ADD COLUMN share_mode text CHECK (share_mode IN ('direct', 'invitation'));
