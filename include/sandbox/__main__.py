"""``python -m sandbox serve --port 8799 --state-dir .local/sandbox``: every emulator on one port.

Paths do not collide (Sheets ``/v4/spreadsheets``, Drive ``/drive/v3``, OAuth ``/token``, PayPal
``/v1``, Payoneer ``/api/v2`` and ``/v4/programs``, Dropbox ``/oauth2`` and ``/2``), so one base
URL serves every connection of the demo. ``python -m sandbox connections --base-url URL`` prints
the Airflow connections (as ``AIRFLOW_CONN_*`` JSON) that point the hooks at it.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8799)
    serve.add_argument("--state-dir", type=Path, default=Path(".local/sandbox"))
    serve.add_argument(
        "--public-dir",
        type=Path,
        help="served read-only at /public/, like a public bucket (for =IMAGE)",
    )
    serve.add_argument(
        "--smtp-port", type=int, default=0, help="also run the SMTP server (inbox at /inbox/)"
    )
    conns = sub.add_parser("connections")
    conns.add_argument("--base-url", required=True)
    conns.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".local/sandbox"),
        help="the serve command's state dir: payment client credentials and the Dropbox app key "
        "are read (or made) there",
    )
    conns.add_argument("--smtp-port", type=int, default=0, help="the sandbox's SMTP port")
    conns.add_argument(
        "--key-file",
        type=Path,
        required=True,
        help="service-account JSON, created here on first use",
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.command == "serve":
        serve(args)
    else:
        connections(args)


def serve(args: argparse.Namespace) -> None:
    """Every emulator on one app and port (and SMTP on its own port), until interrupted."""
    import uvicorn  # noqa: PLC0415

    from sandbox.dropbox import register_dropbox  # noqa: PLC0415
    from sandbox.google import create_app  # noqa: PLC0415
    from sandbox.payments import register_payments  # noqa: PLC0415

    base_url = f"http://{args.host}:{args.port}"
    app = create_app(args.state_dir, base_url)
    register_payments(app, args.state_dir, base_url)
    register_dropbox(app, args.state_dir, base_url)
    from sandbox.mail import MailStore, register_inbox, start_smtp  # noqa: PLC0415

    mail = MailStore(args.state_dir)
    register_inbox(app, mail)
    smtp = start_smtp(mail, args.host, args.smtp_port) if args.smtp_port else None
    if args.public_dir:
        from fastapi.staticfiles import StaticFiles  # noqa: PLC0415

        args.public_dir.mkdir(parents=True, exist_ok=True)
        app.mount("/public", StaticFiles(directory=args.public_dir), name="public")
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        if smtp:
            smtp.stop()


def _export(name: str, value: str) -> None:
    print(f"export {name}={shlex.quote(value)}")


def connections(args: argparse.Namespace) -> None:
    """Print ``export AIRFLOW_CONN_*=...`` lines (and the portal's Dropbox settings)."""
    from sandbox.credentials import service_account_info  # noqa: PLC0415

    if not args.key_file.exists():
        args.key_file.parent.mkdir(parents=True, exist_ok=True)
        args.key_file.write_text(json.dumps(service_account_info(args.base_url)))
    key = json.loads(args.key_file.read_text())
    sheets = {
        "conn_type": "google_sheets",
        "extra": {
            "keyfile_dict": key,
            "api_base_url": args.base_url,
            "drive_folder_id": _shared_drive_folder(args, key["client_email"]),
        },
    }
    _export("AIRFLOW_CONN_GOOGLE_SHEETS_DEFAULT", json.dumps(sheets))
    base = args.base_url.rstrip("/")
    _payment_connections(args.state_dir, base)
    _dropbox_connection(args.state_dir, base)
    if args.smtp_port:
        from urllib.parse import quote  # noqa: PLC0415

        from sandbox.mail import SMTP_LOGIN, SMTP_PASSWORD  # noqa: PLC0415

        # A plain local server: both switches off (docs/airflow-facts.md: any value disables);
        # the sandbox's mail account, so the login is used (and checked) as in production.
        smtp = (
            f"smtp://{quote(SMTP_LOGIN, safe='')}:{SMTP_PASSWORD}@127.0.0.1:{args.smtp_port}"
            "?disable_ssl=true&disable_tls=true"
            "&from_email=collector%40visym.com"
        )
        _export("AIRFLOW_CONN_SMTP_DEFAULT", smtp)


DEMO_DRIVE = "Collector platform"


def _shared_drive_folder(args: argparse.Namespace, writer: str) -> str:
    """The folder of the demo's shared drive, where the service account creates spreadsheets
    (it has no Drive storage of its own, docs/sandbox.md); asked of the running sandbox, or
    written to its state for its next start."""
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    body = json.dumps({"name": DEMO_DRIVE, "writers": [writer]}).encode()
    request = urllib.request.Request(
        f"{args.base_url.rstrip('/')}/_sandbox/shared-drives",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["folder_id"]
    except (urllib.error.URLError, OSError):
        from sandbox.google.drives import Directory  # noqa: PLC0415

        args.state_dir.mkdir(parents=True, exist_ok=True)
        return Directory(args.state_dir).ensure_drive(DEMO_DRIVE, [writer]).folder_id


def _payment_connections(state_dir: Path, base: str) -> None:
    from sandbox.payments import load_clients  # noqa: PLC0415

    clients = load_clients(state_dir)
    paypal = {
        "conn_type": "paypal",
        "login": clients["paypal"]["client_id"],
        "password": clients["paypal"]["client_secret"],
        "extra": {"mode": "sandbox", "endpoint": base},
    }
    payoneer = {
        "conn_type": "payoneer",
        "login": clients["payoneer"]["client_id"],
        "password": clients["payoneer"]["client_secret"],
        "extra": {
            "program_id": clients["payoneer"]["program_id"],
            "api_base_url": base,
            "token_url": f"{base}/api/v2/oauth2/token",
        },
    }
    _export("AIRFLOW_CONN_PAYPAL_DEFAULT", json.dumps(paypal))
    _export("AIRFLOW_CONN_PAYONEER_DEFAULT", json.dumps(payoneer))


def _dropbox_connection(state_dir: Path, base: str) -> None:
    from sandbox.dropbox import load_dropbox_app  # noqa: PLC0415

    dropbox_app = load_dropbox_app(state_dir)
    dropbox = {
        "conn_type": "dropbox",
        "login": dropbox_app["app_key"],
        "password": dropbox_app["app_secret"],
        "extra": {"api_base_url": base},
    }
    _export("AIRFLOW_CONN_DROPBOX_DEFAULT", json.dumps(dropbox))
    # The portal links accounts with the same app (it reads plain settings, not Airflow's).
    portal_dropbox = {
        "COLLECTOR_DROPBOX_APP_KEY": dropbox_app["app_key"],
        "COLLECTOR_DROPBOX_APP_SECRET": dropbox_app["app_secret"],
        "COLLECTOR_DROPBOX_API_URL": base,
        "COLLECTOR_DROPBOX_AUTHORIZE_URL": f"{base}/oauth2/authorize",
    }
    for name, value in portal_dropbox.items():
        _export(name, value)


if __name__ == "__main__":
    main()
