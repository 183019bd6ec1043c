"""Airflow adapters for the collection platform: hooks, operators, sensors and triggers.

Reusable outside this project: each piece takes a connection id and calls into ``collector``.
"""
