"""``collector`` command line: the same functions the DAGs call, for people and the Makefile."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from collector.core import settings


def _cmd_db(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415 - keep `collector --help` instant
    from collector_tools import embedded  # noqa: PLC0415 - keep `collector --help` instant

    data_dir = settings.state_dir() / "warehouse"
    if args.action == "start":
        url = embedded.start(data_dir)
        settings.warehouse_url_file().write_text(url + "\n")
        print(url)
    elif args.action == "stop":
        print("stopped" if embedded.stop(data_dir) else "was not running")
    elif args.action == "url":
        print(settings.database_url())
    elif args.action == "airflow-url":
        # Airflow's metadata database, beside the warehouse (SQLAlchemy URL for
        # AIRFLOW__DATABASE__SQL_ALCHEMY_CONN); created when missing.
        url = db.sibling_database_url("airflow")
        print("postgresql+psycopg2://" + url.split("://", 1)[1])
    elif args.action == "migrate":
        with db.connection() as conn:
            applied = db.migrate(conn)
        print("applied: " + ", ".join(applied) if applied else "warehouse schema is up to date")
    elif args.action == "shell":
        return _db_shell(settings.database_url())
    return 0


def _db_shell(url: str) -> int:
    """psql on the warehouse when it is installed; else say how to look without it."""
    import shutil  # noqa: PLC0415

    psql = shutil.which("psql")
    if psql:
        os.execv(psql, [psql, url])
    print(
        "psql is not installed (the project does not need it). The warehouse is at\n"
        f"  {url}\n"
        "Open it with any PostgreSQL client, or ask the CLI: `collector status`, "
        "`collector explain VIDEO_ID`, `collector payouts show WEEK`, `collector show ...`.",
        file=sys.stderr,
    )
    return 1


_SHOW_NOTHING = {
    "sheet": "no {what} sheet yet: the pipeline creates it on its first run",
    "dashboard": "no dashboard sheet yet{who}: dashboard_refresh creates them",
    "scored-video": "no scored video yet: run score_aggregation (or `collector score`)",
    "payee": "no collector has payment details yet (portal Profile, `collector payouts profile`)",
}


def _cmd_show(args: argparse.Namespace) -> int:
    """One value per call, for scripts: nothing printed to stdout (exit 1) when there is none."""
    from collector.core import db  # noqa: PLC0415
    from collector_tools import lookups  # noqa: PLC0415

    with db.connection() as conn:
        if args.what == "sheet":
            value = lookups.managed_sheet_id(conn, args.name)
            known = lookups.managed_sheet_purposes(conn)
        elif args.what == "dashboard":
            value = lookups.dashboard_sheet_id(conn, args.name)
        elif args.what == "scored-video":
            value = lookups.example_scored_video(conn)
        else:
            value = lookups.first_payee(conn)
    if value is None:
        message = _SHOW_NOTHING[args.what].format(
            what=args.name, who=f" for {args.name}" if args.name else ""
        )
        if args.what == "sheet" and known:
            message += f" (sheets recorded: {', '.join(known)})"
        print(f"collector: {message}", file=sys.stderr)
        return 1
    print(value)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from collector.catalog.collections import load_catalog, record_collection_version  # noqa: PLC0415
    from collector.core import db  # noqa: PLC0415
    from collector_tools import demo  # noqa: PLC0415

    if args.action == "reset":
        if os.environ.get("COLLECTOR_DB_URL"):
            print(
                "collector: demo reset only empties the embedded warehouse; COLLECTOR_DB_URL is set",
                file=sys.stderr,
            )
            return 2
        with db.connection() as conn, conn.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        with db.connection() as conn:
            db.migrate(conn)
        print("embedded warehouse emptied and migrated")
    elif args.action == "generate":
        manifest = demo.generate_landing_area(Path(args.landing), seed=args.seed)
        Path(args.manifest).write_text(manifest.to_json())
        print(
            f"{len(manifest.files)} annotation files and {len(manifest.mp4s)} MP4s in "
            f"{args.landing} (manifest: {args.manifest})"
        )
    elif args.action == "self-serve":
        from collector.catalog import self_serve  # noqa: PLC0415

        with db.connection() as conn:
            owned = self_serve.list_collections(conn, args.owner)
            catalog = load_catalog(conn)
        if not owned:
            print(f"collector: {args.owner} owns no collection yet", file=sys.stderr)
            return 2
        definition = catalog.latest(owned[0].collection_id).definition
        made = demo.generate_owner_submissions(Path(args.landing), definition, args.owner)
        print(
            f"{len(made)} videos by {args.owner} for {definition.collection_id} in {args.landing}"
        )
    elif args.action == "seed-accounts":
        with db.connection() as conn:
            emails = demo.seed_portal_accounts(conn)
        print(
            f"{len(emails)} portal accounts, password {demo.DEMO_PASSWORD!r}: {', '.join(emails)}"
        )
    elif args.action == "seed-profiles":
        with db.connection() as conn:
            for collector, profile in demo.seed_payment_profiles(conn).items():
                print(f"{collector}: {profile}")
    elif args.action == "seed-collections":
        with db.connection() as conn:
            for definition in demo.demo_collections():
                record_collection_version(conn, definition, demo.DEMO_EPOCH.replace(day=1))
        print(f"{len(demo.demo_collections())} demo collections recorded")
    return 0


def _cmd_ingest(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415
    from collector.intake.ingest import ingest_landing_area  # noqa: PLC0415

    with db.connection() as conn:
        report = ingest_landing_area(
            conn,
            Path(args.landing),
            Path(args.quarantine),
            mp4_wait=settings.mp4_wait(),
            now=datetime.now(UTC),
        )
    print(json.dumps(report.summary()))
    for quarantined in report.quarantined:
        print(f"quarantined {quarantined}")
    return 0


def _cmd_quarantine(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415
    from collector.intake.ingest import release_quarantined  # noqa: PLC0415
    from collector_tools import reports  # noqa: PLC0415

    with db.connection() as conn:
        if args.action == "list":
            print(reports.warehouse_status(conn))
            return 0
        for name in args.files:
            released = release_quarantined(conn, name)
            print(
                f"{name}: {'released, retried at the next ingest' if released else 'not in quarantine'}"
            )
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from collector.scoring.scores import explain  # noqa: PLC0415

    for video_id in args.video_ids:
        print(explain(video_id))
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415
    from collector.scoring.scores import score_videos  # noqa: PLC0415

    with db.connection() as conn:
        run = score_videos(conn, args.video_ids or None, rules_version=args.rules_version)
    print(
        f"scored {run.videos_scored} videos with rules v{run.rules_version}: "
        f"{run.videos_written} rows written, {run.scores_changed} scores changed"
    )
    return 0


def _cmd_payouts(args: argparse.Namespace) -> int:
    from datetime import date  # noqa: PLC0415

    from collector.core import db  # noqa: PLC0415
    from collector.payouts import profiles  # noqa: PLC0415
    from collector.payouts import report as payout_report  # noqa: PLC0415

    if args.action in ("chunk-found", "chunk-not-sent"):
        return _payouts_chunk(args)
    if args.action == "profile" and len(args.values) != 3:
        print("usage: collector payouts profile COLLECTOR paypal|payoneer VALUE", file=sys.stderr)
        return 2
    if args.action != "profile":
        week = date.fromisoformat(args.values[0]) if args.values else None
        with db.connection() as conn:
            print(payout_report.ledger_status(conn, week))
        return 0
    collector, method, value = args.values
    try:
        with db.connection() as conn:
            method, receiver = profiles.set_payment_profile(conn, collector, method, value, args.by)
    except profiles.ProfileError as exc:
        print(f"collector: {collector}: {exc}", file=sys.stderr)
        return 2
    print(f"{collector}: {method} {receiver} (applies from the next frozen batch)")
    return 0


def _cmd_portal(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime  # noqa: PLC0415

    from collector.accounts import logins  # noqa: PLC0415
    from collector.core import db  # noqa: PLC0415

    try:
        with db.connection() as conn:
            account = logins.create_account(conn, args.email, "ops" if args.ops else "collector")
            purpose = "reset_password" if args.reset else "set_password"
            token = logins.issue_link(conn, account, purpose, datetime.now(UTC))
    except logins.AccountError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    valid = logins.LINK_TTL[purpose]
    print(f"{account.email} ({account.role}): choose a password within {valid} at")
    print(f"{settings.portal_url()}/set-password?token={token}")
    return 0


def _cmd_consent(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415

    from collector.core import db  # noqa: PLC0415
    from collector.intake import consent  # noqa: PLC0415

    if args.action == "show":
        with db.connection() as conn:
            print(json.dumps(consent.consent_status(conn, args.subject_email), indent=2))
        return 0
    if not args.reason:
        print("collector: a withdrawal needs --reason", file=sys.stderr)
        return 2
    try:
        with db.connection() as conn:
            w = consent.withdraw_consent(
                conn, args.subject_email, reason=args.reason, withdrawn_by=args.by
            )
    except consent.WithdrawalError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    if w.newly_recorded:
        print(
            f"{w.subject_email}: consent withdrawn ({w.reason}); {w.videos_affected} video(s) "
            "leave every future release, earlier releases list them in the next takedown.csv"
        )
    else:
        print(
            f"{w.subject_email}: already withdrawn on {w.withdrawn_at:%Y-%m-%d} by "
            f"{w.withdrawn_by} ({w.reason}); kept as it was"
        )
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415
    from datetime import date  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from collector.core import db  # noqa: PLC0415
    from collector.release.build import build_release  # noqa: PLC0415
    from collector.release.plan import ReleaseParams  # noqa: PLC0415
    from collector.release.rules import ReleaseError  # noqa: PLC0415

    try:
        params = ReleaseParams(
            args.name,
            args.version,
            tuple(args.collection),
            date.fromisoformat(args.collected_from) if args.collected_from else None,
            date.fromisoformat(args.collected_to) if args.collected_to else None,
        )
    except (ReleaseError, ValueError) as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    try:
        with db.connection() as conn:
            outcome = build_release(
                conn, params, Path(args.output or settings.releases_url()), dry_run=args.dry_run
            )
    except ReleaseError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(outcome.summary, indent=2))
    if outcome.readme:
        verb = "reproduced (identical)" if outcome.reproduced else "published"
        print(f"{verb}: {outcome.readme}")
    return 0


def _cmd_collections(args: argparse.Namespace) -> int:
    from collector.catalog import self_serve  # noqa: PLC0415
    from collector.core import db  # noqa: PLC0415

    action = {
        "define": _collections_define,
        "list": _collections_list,
        "retire": _collections_retire,
        "promote": _collections_promote,
    }[args.action]
    try:
        with db.connection() as conn:
            return action(conn, args, settings.catalog_url())
    except self_serve.SpecError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"collector: {args.spec}: {len(exc.problems)} problem(s), nothing changed",
            file=sys.stderr,
        )
        return 2
    except self_serve.SelfServeError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2


def _collections_define(conn, args: argparse.Namespace, catalog_url: str) -> int:
    from collector.catalog import self_serve  # noqa: PLC0415

    spec = Path(args.spec)
    try:
        text = spec.read_text()
    except OSError as exc:
        print(f"collector: cannot read {args.spec}: {exc.strerror}", file=sys.stderr)
        return 2
    done = self_serve.define_collection(conn, text, args.owner, source=args.spec)
    print(done)
    for note in done.notes:
        print(f"note: {note}")
    print(f"catalog: {self_serve.publish_owner_catalog(conn, args.owner, catalog_url)}")
    return 0


def _collections_list(conn, args: argparse.Namespace, catalog_url: str) -> int:
    from collector.catalog import self_serve  # noqa: PLC0415

    found = self_serve.list_collections(conn, args.owner)
    for c in found:
        kind = (
            f"paid since {c.promoted_at:%Y-%m-%d}" if c.kind == "paid" and c.promoted_at else c.kind
        )
        state = "enabled" if c.enabled else c.reason
        print(f"{c.collection_id}  v{c.version}  {kind:<21}  {state:<10}  {c.name}")
    if not found:
        print(f"no collections owned by {self_serve.owner_email(args.owner)}")
    return 0


def _collections_retire(conn, args: argparse.Namespace, catalog_url: str) -> int:
    from collector.catalog import self_serve  # noqa: PLC0415

    done = self_serve.retire_collection(
        conn, args.collection_id, owner=None if args.ops else args.owner
    )
    print(done)
    owner = _owner_of(conn, args.collection_id)
    if owner:
        print(f"catalog: {self_serve.publish_owner_catalog(conn, owner, catalog_url)}")
    return 0


def _collections_promote(conn, args: argparse.Namespace, catalog_url: str) -> int:
    from decimal import Decimal  # noqa: PLC0415

    from collector.catalog import master_sheet, self_serve  # noqa: PLC0415

    parse = master_sheet.MASTER_PARSERS  # the master sheet's words for a bad amount
    try:
        pay = parse["pay_per_video_usd"](args.pay_usd)
        bonus = parse["perfect_bonus_usd"](args.bonus_usd)
        threshold, hours = (
            None if text is None else parse[column](text)
            for column, text in (
                ("score_threshold", args.threshold),
                ("rate_limit_hours", args.rate_limit_hours),
            )
        )
    except ValueError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    done = self_serve.promote_collection(
        conn,
        args.collection_id,
        pay_per_video_cents=pay,
        perfect_bonus_cents=bonus,
        score_threshold=threshold,
        rate_limit_hours=hours,
    )
    print(f"{done}: a paid campaign, ${Decimal(pay) / 100:.2f} a video")
    owner = _owner_of(conn, args.collection_id)
    for path in self_serve.publish_catalogs(
        conn, catalog_url, owners=[owner] if owner else [], public=True
    ):
        print(f"catalog: {path}")
    return 0


def _owner_of(conn, collection_id: str) -> str | None:
    """The owner of a self-serve collection (kept after a promotion), else None."""
    from collector.catalog.collections import load_catalog  # noqa: PLC0415

    catalog = load_catalog(conn)
    return catalog.owner_of(collection_id) if collection_id in catalog else None


def _cmd_dropbox(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415
    from collector.delivery import links as dropbox_links  # noqa: PLC0415
    from collector.delivery.vault import TokenVault, VaultError, new_key  # noqa: PLC0415

    if args.action == "new-key":
        print(new_key())
        return 0
    if args.action == "rotate-keys":
        try:
            with db.connection() as conn:
                changed = dropbox_links.rotate_keys(conn, TokenVault(settings.token_keys()))
        except VaultError as exc:
            print(f"collector: {exc}", file=sys.stderr)
            return 2
        print(f"{changed} stored Dropbox token(s) re-encrypted with the newest key")
        return 0
    with db.connection() as conn:
        links = dropbox_links.link_statuses(conn)
    for collector, status, linked_at, reason, files, size in links:
        extra = f": {reason}" if reason else ""
        print(
            f"{collector}: {status}{extra}, linked {linked_at:%Y-%m-%d}, "
            f"{files} files delivered ({size / 2**20:.1f} MB)"
        )
    if not links:
        print("no Dropbox links")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from collector.core import db  # noqa: PLC0415
    from collector_tools import reports  # noqa: PLC0415

    with db.connection() as conn:
        print(reports.warehouse_status(conn))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    # The checks are the hooks' own test_connection(): the provider owns them
    # (collector_airflow.doctor, also `python -m collector_airflow.doctor`).
    from collector_airflow import doctor  # noqa: PLC0415 - keep `collector --help` instant

    return doctor.main([])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="collector", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_lookup_commands(sub)
    _add_pipeline_commands(sub)
    _add_people_commands(sub)
    _add_collections_command(sub)
    _add_ops_commands(sub)
    return parser


def _add_lookup_commands(sub) -> None:
    """``db`` and ``show``: the warehouse itself, and one value from it."""
    p = sub.add_parser("db", help="embedded warehouse and migrations")
    p.add_argument(
        "action",
        choices=["start", "stop", "url", "airflow-url", "migrate", "shell"],
        help="airflow-url: Airflow's metadata database beside the warehouse (created when missing); shell: psql on the warehouse if installed, else where it is and how to look",
    )
    p.set_defaults(func=_cmd_db)
    p = sub.add_parser(
        "show",
        help="print one value from the warehouse, for scripts (read-only)",
        description="Read-only lookups; prints the value alone, or exits 1 saying why not.",
    )
    shows = p.add_subparsers(dest="what", required=True)
    a = shows.add_parser("sheet", help="id of a sheet the pipelines made")
    a.add_argument("name", choices=["review_queue", "ops_summary"], help="which sheet")
    a = shows.add_parser("dashboard", help="a collector's dashboard sheet id (default: the first)")
    a.add_argument("name", nargs="?", metavar="COLLECTOR", help="collector id (their email)")
    a = shows.add_parser("scored-video", help="a scored video to explain (a rejected one first)")
    a.set_defaults(name=None)
    a = shows.add_parser("payee", help="the first collector with payment details")
    a.set_defaults(name=None)
    p.set_defaults(func=_cmd_show)


def _add_pipeline_commands(sub) -> None:
    """``demo``, ``ingest``, ``quarantine``, ``explain``, ``score``: the pipeline by hand."""
    p = sub.add_parser("demo", help="demo data")
    p.add_argument(
        "action",
        choices=[
            "reset",
            "generate",
            "seed-collections",
            "seed-profiles",
            "seed-accounts",
            "self-serve",
        ],
    )
    p.add_argument("--owner", default="owner@example.com", help="self-serve: whose videos")
    p.add_argument("--landing", default=settings.landing_url())
    p.add_argument("--manifest", default=str(settings.state_dir() / "demo-manifest.json"))
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser("ingest", help="ingest the landing area once, outside Airflow")
    p.add_argument("--landing", default=settings.landing_url())
    p.add_argument("--quarantine", default=settings.quarantine_url())
    p.set_defaults(func=_cmd_ingest)
    p = sub.add_parser("quarantine", help="list quarantined files, or release fixed ones")
    p.add_argument("action", choices=["list", "release"])
    p.add_argument("files", nargs="*", help="file names to release")
    p.set_defaults(func=_cmd_quarantine)
    p = sub.add_parser("explain", help="why a video was or was not accepted")
    p.add_argument("video_ids", nargs="+")
    p.set_defaults(func=_cmd_explain)
    p = sub.add_parser("score", help="score videos now (all when none given)")
    p.add_argument("video_ids", nargs="*")
    p.add_argument("--rules-version", type=int)
    p.set_defaults(func=_cmd_score)


def _payouts_chunk(args: argparse.Namespace) -> int:
    """Record what a person found at the provider for a chunk the payout would not re-send."""
    from collector.core import db  # noqa: PLC0415
    from collector.payouts import submission  # noqa: PLC0415
    from collector.payouts.ledger import LedgerError  # noqa: PLC0415

    wanted = 3 if args.action == "chunk-found" else 2
    if len(args.values) != wanted or not all(v.isdigit() for v in args.values[:2]):
        usage = "BATCH CHUNK PAYOUT_BATCH_ID" if wanted == 3 else "BATCH CHUNK"
        print(f"usage: collector payouts {args.action} {usage}", file=sys.stderr)
        return 2
    batch_id, chunk = int(args.values[0]), int(args.values[1])
    try:
        with db.connection() as conn:
            if args.action == "chunk-found":
                submission.record_chunk_found(conn, batch_id, chunk, args.values[2], args.by)
            else:
                submission.record_chunk_not_sent(conn, batch_id, chunk, args.by)
    except LedgerError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2
    print(f"batch {batch_id} chunk {chunk}: recorded; re-trigger the week to finish it")
    return 0


def _add_people_commands(sub) -> None:
    """``payouts``, ``portal``, ``consent``, ``release``: what people ask ops for."""
    p = sub.add_parser("payouts", help="payment details, and the payout ledger for a week")
    p.add_argument("action", choices=["profile", "show", "chunk-found", "chunk-not-sent"])
    p.add_argument(
        "values",
        nargs="*",
        help="profile: COLLECTOR METHOD VALUE; show: [WEEK]; chunk-found: BATCH CHUNK "
        "PAYOUT_BATCH_ID; chunk-not-sent: BATCH CHUNK (an unconfirmed chunk looked up by hand)",
    )
    p.add_argument("--by", default=os.environ.get("USER", "cli"), help="who records the change")
    p.set_defaults(func=_cmd_payouts)
    p = sub.add_parser("portal", help="create a portal account and print its set-password link")
    p.add_argument("action", choices=["invite"])
    p.add_argument("email")
    p.add_argument("--ops", action="store_true", help="an ops account (read-only, any collector)")
    p.add_argument("--reset", action="store_true", help="a 2-hour reset link instead")
    p.set_defaults(func=_cmd_portal)
    p = sub.add_parser("consent", help="a subject's consent on file, or record its withdrawal")
    p.add_argument("action", choices=["show", "withdraw"])
    p.add_argument("subject_email")
    p.add_argument("--reason", help="withdraw: what the subject asked, and when")
    p.add_argument("--by", default=os.environ.get("USER", "cli"), help="who records it")
    p.set_defaults(func=_cmd_consent)
    p = sub.add_parser("release", help="build a dataset release outside Airflow (or a dry run)")
    p.add_argument("name")
    p.add_argument("version")
    p.add_argument("--collection", action="append", default=[], help="repeat for several")
    p.add_argument("--collected-from", help="first ET day, YYYY-MM-DD")
    p.add_argument("--collected-to", help="last ET day, YYYY-MM-DD")
    p.add_argument("--output", help="folder (default COLLECTOR_RELEASES_URL)")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=_cmd_release)


def _add_collections_command(sub) -> None:
    """``collections``: self-serve collections (FAQ 3)."""
    p = sub.add_parser(
        "collections",
        help="self-serve collections: define, list, retire; promote one to a paid campaign",
        description="Self-serve collections (FAQ 3): a YAML spec with the master sheet's "
        "columns as fields; see collector.catalog.self_serve.",
    )
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("define", help="create or change your collection from a YAML spec")
    a.add_argument("spec", help="SPEC.yaml")
    a.add_argument("--owner", required=True, help="your email (the app login)")
    a = actions.add_parser("list", help="an owner's collections")
    a.add_argument("--owner", required=True)
    a = actions.add_parser("retire", help="stop offering a collection (videos stay)")
    a.add_argument("collection_id")
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--owner", help="the collection's owner")
    who.add_argument("--ops", action="store_true", help="ops: also a promoted collection")
    a = actions.add_parser(
        "promote", help="ops: make a self-serve collection a paid campaign from now on"
    )
    a.add_argument("collection_id")
    a.add_argument("--pay-usd", required=True, help="pay per accepted video, e.g. 3.00")
    a.add_argument("--bonus-usd", default="0", help="perfect bonus (default 0)")
    a.add_argument("--threshold", help="score threshold 0..1 (default: the spec's)")
    a.add_argument("--rate-limit-hours", help="default: the spec's")
    p.set_defaults(func=_cmd_collections)


def _add_ops_commands(sub) -> None:
    """``dropbox``, ``status`` and ``doctor``."""
    p = sub.add_parser("dropbox", help="Dropbox links: status, a new key, re-encrypt tokens")
    p.add_argument("action", choices=["status", "new-key", "rotate-keys"])
    p.set_defaults(func=_cmd_dropbox)
    p = sub.add_parser("status", help="what the warehouse holds, and what is quarantined and why")
    p.set_defaults(func=_cmd_status)
    p = sub.add_parser(
        "doctor",
        help="preflight: one harmless real call per connection, one line each (docs/production.md)",
        description="OK or FAIL per connection, in the order to fill them; FAIL names the "
        "setting that fixes it. Exit 1 when any fails. Prints no secret.",
    )
    p.set_defaults(func=_cmd_doctor)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except settings.ConfigurationError as exc:
        print(f"collector: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
