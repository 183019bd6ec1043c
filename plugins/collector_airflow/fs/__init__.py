"""Filesystems this provider registers for ``ObjectStoragePath`` (Airflow's ``filesystems``)."""
