"""Dashboards: each collector's Videos / Payments / Summary frames and the Ops summary (`content`), and their static HTML page (`html`). DAG: dashboard_refresh."""
