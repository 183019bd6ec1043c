"""Deferrable triggers (run by the triggerer; importable from here, never from dags/)."""
