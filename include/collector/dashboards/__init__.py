"""Dashboards: each collector's Videos / Payments / Summary frames and the Ops summary
(``content``), the bookkeeping of their spreadsheets (``sheets``), and their static HTML page
(``html``). DAG: dashboard_refresh."""
