"""``python -m portal serve --port 8790``: the portal as its own service (uvicorn)."""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="portal", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8790)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    import logging  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    # What happened, by account id: never passwords, tokens, cookies or payment details.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        "portal.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,  # URLs carry link tokens: keep them out of logs
        # uvicorn's own default believes X-Forwarded-For from 127.0.0.1; the app believes it
        # only from COLLECTOR_PORTAL_TRUSTED_PROXIES (portal.security), whoever serves it.
        proxy_headers=False,
        server_header=False,  # no "server: uvicorn" (ASVS 14.3.3)
    )


if __name__ == "__main__":
    main()
