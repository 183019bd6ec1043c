"""Shared vocabulary of every stage; nothing here knows a stage (an import rule checks it).

The business clock (``clock``: time zone, days, payout weeks), money (``money``: integer cents and
how they are written), who someone is (``identity``: email matching keys, masks), warehouse
connections and migrations (``db``), the registry of spreadsheets we manage
(``managed_sheets``), where things live (``settings``), spreadsheet cells and typed tables
(``cells``, ``tables``), ffmpeg (``media``), app version strings (``versions``).
"""
