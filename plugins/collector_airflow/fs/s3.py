"""``s3://`` for ``ObjectStoragePath``: s3fs configured from an Airflow connection of type ``aws``.

Airflow finds a filesystem per URL scheme only in providers' ``filesystems``. The Amazon
provider has one, but it brings boto3, PyAthena, redshift_connector and sagemaker-studio with it;
this is the same thing (the connection's key, secret, ``endpoint_url`` and ``region_name`` handed
to ``s3fs.S3FileSystem``) for what our tasks do: read and write objects. The connection is the
URL's user part (``s3://my_conn@bucket/key``) or ``aws_default``; without that connection the
standard AWS chain applies (``AWS_*`` variables, an instance or pod role), as for the portal and
the CLI, which reach the same bucket through fsspec without Airflow.
"""

from __future__ import annotations

from typing import Any

schemes = ["s3", "s3a"]
DEFAULT_CONN_ID = "aws_default"


def storage_options(conn_id: str | None) -> dict[str, Any]:
    """s3fs options from the connection (``{}``: the default AWS chain)."""
    from airflow.sdk import BaseHook  # noqa: PLC0415 (only when a task opens s3://)
    from airflow.sdk.exceptions import AirflowNotFoundException  # noqa: PLC0415

    try:
        conn = BaseHook.get_connection(conn_id or DEFAULT_CONN_ID)
    except AirflowNotFoundException:
        if conn_id not in (None, DEFAULT_CONN_ID):  # a connection named in the URL must exist
            raise
        return {}
    extra = conn.extra_dejson
    options: dict[str, Any] = {}
    if conn.login:
        options["key"] = conn.login
        options["secret"] = conn.password
    client: dict[str, Any] = {}
    if extra.get("endpoint_url"):
        options["endpoint_url"] = extra["endpoint_url"]
    if extra.get("region_name"):
        client["region_name"] = extra["region_name"]
    if client:
        options["client_kwargs"] = client
    return options


def get_fs(conn_id: str | None, storage_options_: dict[str, Any] | None = None):
    """The filesystem Airflow hands ``ObjectStoragePath`` for ``s3://`` URLs."""
    from s3fs import S3FileSystem  # noqa: PLC0415

    return S3FileSystem(**{**storage_options(conn_id), **(storage_options_ or {})})
