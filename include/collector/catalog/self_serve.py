"""Self-serve collections (FAQ 3): anyone defines their own collection, which only they see.

A collection is described by a YAML spec with the same fields as a master-sheet row, under the
same names, validated by the same parsers and rules (``master_sheet.validate_fields``); only a
problem names the spec's line instead of a cell::

    # spec.yaml
    name: Wave hello in my garden
    description: Stand in the garden and wave at the camera.
    activity_shortnames: [Wave]
    activity_categories: [person_waves]
    min_duration_s: 5

Only ``name``, ``activity_shortnames`` and ``activity_categories`` are required (the others
default as in ``CollectionDefinition``; ``enabled`` defaults to true). Differences from a sheet
row, all because the collection belongs to its owner:

- ``collection_id`` is assigned (``S`` + 8 hex digits, stable for one owner and name) unless
  the spec gives one matching ``^S[0-9A-F]{8}$``; ``project_id`` is the owner's own project
  (:func:`owner_project_id`), which the spec may repeat but not change;
- ``kind`` is ``self_serve`` (the only value a spec may give), and the collection pays nothing
  whatever ``pay_per_video_usd`` says: its videos are never reviewed, never on the paid
  dashboard, never in a payout. Ops may :func:`promote_collection` it to a paid campaign;
- only its owner may change or retire it; the public catalog never lists it, the owner's
  catalog file (``collection_updates.owner_catalog_name``) does.

Python API (the ``collector collections`` CLI is a thin layer over it)::

    from collector.catalog import self_serve

    from collector.core import db, settings

    conn = db.connect()
    done = self_serve.define_collection(conn, open("spec.yaml").read(), "me@example.com",
                                        source="spec.yaml")
    self_serve.publish_owner_catalog(conn, "me@example.com", settings.catalog_url())
    self_serve.list_collections(conn, "me@example.com")
    self_serve.retire_collection(conn, done.collection_id, owner="me@example.com")

A bad spec raises :class:`SpecError` listing every problem (``spec.yaml:7: score_threshold:
expected a number between 0 and 1, got 'high'``); a refused change raises
:class:`SelfServeError`. Every function runs in one transaction and commits it.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions
import yaml

from collector.catalog.collections import (
    CollectionCatalog,
    CollectionDefinition,
    load_catalog,
    record_collection_version,
)
from collector.catalog.master_sheet import (
    MASTER_HEADER,
    FieldProblem,
    definition_fields,
    validate_fields,
)
from collector.catalog.updates import (
    build_catalogs,
    catalog_json,
    owner_catalog_name,
    refresh_status,
    write_catalog_files,
)
from collector.core.clock import BUSINESS_TZ
from collector.core.identity import normalize_email

SPEC_FIELDS = tuple(MASTER_HEADER)
SPEC_REQUIRED = ("name", "activity_shortnames", "activity_categories")
_LIST_FIELDS = ("activity_shortnames", "activity_categories")
_SELF_SERVE_ID = re.compile(r"^S[0-9A-F]{8}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NULL = "tag:yaml.org,2002:null"
DEFAULT_PROJECT_NAME = "My collections"


@dataclass(frozen=True)
class SpecProblem:
    source: str  # the spec's file name, as the user gave it
    line: int  # 1-based
    column: str  # the field (master-sheet column) concerned
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.column}: {self.message}"


class SpecError(ValueError):
    """A spec with problems; ``problems`` holds every one, in line order."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(str(p) for p in self.problems))


class SelfServeError(ValueError):
    """A refused change (not the owner, not a self-serve collection, ...), in words."""


@dataclass(frozen=True)
class Outcome:
    """What a define, retire or promote did."""

    collection_id: str
    version: int
    outcome: str  # "created", "changed" (a new version) or "unchanged"
    definition: CollectionDefinition
    enabled: bool
    reason: str  # the status in words ("enabled", "retired", "ended 2026-12-31", ...)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        state = "enabled" if self.enabled else f"disabled: {self.reason}"
        return f"{self.collection_id} version {self.version}: {self.outcome} ({state})"


@dataclass(frozen=True)
class OwnedCollection:
    collection_id: str
    name: str
    version: int
    kind: str  # of the current version: self_serve, or paid once promoted
    enabled: bool
    reason: str
    promoted_at: datetime | None  # when it became a paid campaign


def owner_email(value: str) -> str:
    """The owner's normalized email (FAQ 5), or :class:`SelfServeError`."""
    email = normalize_email(value or "")
    if not _EMAIL.match(email):
        raise SelfServeError(f"expected the owner's email address, got {value!r}")
    return email


def owner_project_id(owner: str) -> str:
    """The project every self-serve collection of one owner belongs to (``U`` + 8 hex)."""
    return "U" + hashlib.sha256(owner_email(owner).encode()).hexdigest()[:8].upper()


def assigned_id(owner: str, name: str, attempt: int = 0) -> str:
    """``S`` + 8 hex digits from owner and name: the same spec always gets the same id."""
    text = f"{owner_email(owner)}\n{name.strip().casefold()}" + (f"\n{attempt}" if attempt else "")
    return "S" + hashlib.sha256(text.encode()).hexdigest()[:8].upper()


# -- the spec ---------------------------------------------------------------------------------


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name.casefold(), SPEC_FIELDS, n=1, cutoff=0.6)
    if close:
        return f"unknown field; did you mean {close[0]}?"
    return f"unknown field; the fields are {', '.join(SPEC_FIELDS)}"


def _read_yaml(
    text: str, source: str
) -> tuple[dict[str, str], dict[str, int], list[SpecProblem], int]:
    """Field -> text as typed, field -> line, problems, and the document's first line (0 when
    there is nothing to validate: not YAML, empty, or not a mapping)."""
    root, problem = _compose_mapping(text, source)
    if root is None:
        return {}, {}, [problem], 0
    first = root.start_mark.line + 1
    texts: dict[str, str] = {}
    lines: dict[str, int] = {}
    problems: list[SpecProblem] = []
    for key, value in root.value:
        _read_field(key, value, source, texts, lines, problems)
    return texts, lines, problems, first


def _compose_mapping(text: str, source: str) -> tuple[yaml.MappingNode | None, SpecProblem | None]:
    """The spec's YAML mapping node, or None and the one problem why there is none."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return None, SpecProblem(source, line, "yaml", f"not valid YAML: {what}")
    except yaml.YAMLError as exc:
        return None, SpecProblem(source, 1, "yaml", f"not valid YAML: {exc}")
    if root is None:
        return None, SpecProblem(
            source,
            1,
            "spec",
            f"is empty; expected lines like 'name: ...' (required: {', '.join(SPEC_REQUIRED)})",
        )
    first = root.start_mark.line + 1
    if not isinstance(root, yaml.MappingNode):
        return None, SpecProblem(
            source, first, "spec", "expected 'field: value' lines (a YAML mapping)"
        )
    return root, None


def _read_field(
    key: yaml.Node,
    value: yaml.Node,
    source: str,
    texts: dict[str, str],
    lines: dict[str, int],
    problems: list[SpecProblem],
) -> None:
    """One ``field: value`` pair into ``texts`` and ``lines``, or its problems into ``problems``."""
    line = key.start_mark.line + 1
    if not isinstance(key, yaml.ScalarNode):
        problems.append(SpecProblem(source, line, "spec", "a field name must be a plain word"))
        return
    name = key.value.strip()
    if name not in SPEC_FIELDS:
        problems.append(SpecProblem(source, line, name, _did_you_mean(name)))
        return
    if name in lines:
        problems.append(
            SpecProblem(
                source, line, name, f"given again (first on line {lines[name]}); give it once"
            )
        )
        return
    lines[name] = line
    if isinstance(value, yaml.ScalarNode):
        texts[name] = "" if value.tag == _NULL else value.value
    elif isinstance(value, yaml.SequenceNode) and name in _LIST_FIELDS:
        items, item_problems = _read_list_items(value, name, source)
        problems += item_problems
        if not item_problems:
            texts[name] = ",".join(items)
    else:
        what = "a list" if isinstance(value, yaml.SequenceNode) else "a mapping"
        problems.append(SpecProblem(source, line, name, f"expected a single value, got {what}"))


def _read_list_items(
    value: yaml.SequenceNode, name: str, source: str
) -> tuple[list[str], list[SpecProblem]]:
    """A list field's names, one per item, and the problems of items that are not one name."""
    items: list[str] = []
    problems: list[SpecProblem] = []
    for item in value.value:
        item_line = item.start_mark.line + 1
        if not isinstance(item, yaml.ScalarNode) or item.tag == _NULL:
            problems.append(
                SpecProblem(source, item_line, name, "expected a name in each list item")
            )
        elif "," in item.value:
            problems.append(
                SpecProblem(
                    source,
                    item_line,
                    name,
                    f"item {item.value!r} contains a comma; give one name per item",
                )
            )
        else:
            items.append(item.value)
    return items, problems


def parse_spec(
    text: str, owner: str, *, source: str = "spec.yaml"
) -> tuple[dict[str, Any], list[SpecProblem]]:
    """The spec's values, parsed as master-sheet columns, and every problem (by line)."""
    owner = owner_email(owner)
    own_project = owner_project_id(owner)
    texts, lines, problems, first = _read_yaml(text, source)

    def identity(values: dict[str, Any]) -> list[FieldProblem]:
        found: list[FieldProblem] = []
        cid = values.get("collection_id")
        if cid is not None and not _SELF_SERVE_ID.match(cid):
            found.append(
                (
                    "collection_id",
                    "expected an id like S1A2B3C4D ('S' and 8 hex digits in capitals), or "
                    f"leave it out to have one assigned, got {cid!r}",
                )
            )
        project = values.get("project_id")
        if project is not None and project != own_project:
            found.append(
                (
                    "project_id",
                    f"expected {own_project} (your own project), or leave it out, got {project!r}",
                )
            )
        if values.get("kind", "self_serve") != "self_serve":
            found.append(
                (
                    "kind",
                    "a spec defines a self_serve collection (it pays nothing); leave kind out. "
                    "Ops make a collection a paid campaign with `collector collections promote`",
                )
            )
        return found

    if first == 0:  # not YAML, or not a mapping: nothing to validate
        return {}, problems
    # A field whose value could not be read counts as given: no "missing" for it, and no
    # cross-field rule judged without it.
    broken = [name for name in lines if name not in texts]
    values, found = validate_fields(texts, required=(*SPEC_REQUIRED, *broken), identity=identity)
    problems += [
        SpecProblem(source, lines.get(c, first), c, m) for c, m in found if c not in broken
    ]
    return values, sorted(problems, key=lambda p: p.line)


# -- changes ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _change(conn: psycopg2.extensions.connection) -> Iterator[CollectionCatalog]:
    """One self-serve change at a time (ids are assigned by looking at the existing ones), in
    one transaction: the collections as they are now, and a rollback if the change fails."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('collector.catalog.self_serve'))")
        yield load_catalog(conn)
    except BaseException:
        conn.rollback()
        raise


def _check_owner(catalog: CollectionCatalog, collection_id: str, owner: str) -> None:
    found = catalog.owner_of(collection_id)
    if found is None:
        raise SelfServeError(
            f"{collection_id} is not a self-serve collection; the master sheet manages it"
        )
    if found != owner:
        raise SelfServeError(
            f"{collection_id} belongs to another owner; only its owner may change or retire it"
        )
    latest = catalog.latest(collection_id)
    if latest.definition.kind != "self_serve":
        raise SelfServeError(
            f"{collection_id} became a paid campaign (version {latest.version}, "
            f"{latest.valid_from:%Y-%m-%d}); ops manage it now"
        )


def _collection_for(catalog: CollectionCatalog, owner: str, name: str) -> str:
    """The owner's collection of this name, or a new stable id."""
    wanted = name.strip().casefold()
    mine = [
        cid
        for cid in catalog.ids()
        if catalog.owner_of(cid) == owner
        and catalog.latest(cid).definition.name.strip().casefold() == wanted
    ]
    if len(mine) > 1:
        raise SelfServeError(
            f"you have {len(mine)} collections named {name!r} ({', '.join(mine)}); give "
            "collection_id in the spec to say which one to change"
        )
    if mine:
        return mine[0]
    for attempt in range(100):  # another owner's collection may hold the hash (32 bits)
        cid = assigned_id(owner, name, attempt)
        if cid not in catalog:
            return cid
    raise SelfServeError(f"no free collection id for {name!r}; give collection_id in the spec")


def _record(
    conn: psycopg2.extensions.connection,
    catalog: CollectionCatalog,
    definition: CollectionDefinition,
    now: datetime,
    notes: tuple[str, ...] = (),
) -> Outcome:
    """Record the definition (a new version only if it changed), refresh status, commit."""
    cid = definition.collection_id
    previous = catalog.latest(cid).version if cid in catalog else None
    version = record_collection_version(conn, definition, now)
    after = load_catalog(conn)
    effective = max(now, after.latest(cid).valid_from)
    status = refresh_status(
        conn,
        after,
        [cid],
        effective_at=effective,
        today=effective.astimezone(BUSINESS_TZ).date(),
    )[cid]
    conn.commit()
    outcome = "created" if previous is None else "unchanged" if version == previous else "changed"
    return Outcome(cid, version, outcome, definition, *status, notes)


def define_collection(
    conn: psycopg2.extensions.connection,
    spec_text: str,
    owner: str,
    *,
    source: str = "spec.yaml",
    now: datetime | None = None,
) -> Outcome:
    """Create the owner's collection from a spec, or record a new version of it if the spec
    changed it (an unchanged spec changes nothing). Raises :class:`SpecError` with every
    problem, or :class:`SelfServeError` when the collection is not the owner's to change."""
    owner = owner_email(owner)
    values, problems = parse_spec(spec_text, owner, source=source)
    if problems:
        raise SpecError(problems)
    now = now or datetime.now(UTC)
    with _change(conn) as catalog:
        cid = values.get("collection_id") or _collection_for(catalog, owner, values["name"])
        if cid in catalog:
            _check_owner(catalog, cid, owner)
        return _record(
            conn, catalog, _self_serve_definition(values, cid, owner), now, _notes(values)
        )


def _notes(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        f"{column} is ignored: a self-serve collection pays nothing (ops may promote it "
        "to a paid campaign)"
        for column in ("pay_per_video_usd", "perfect_bonus_usd")
        if values.get(column)
    )


def _self_serve_definition(values: dict[str, Any], cid: str, owner: str) -> CollectionDefinition:
    fields = definition_fields(values)
    fields.setdefault("project_name", DEFAULT_PROJECT_NAME)
    fields.update(
        collection_id=cid,
        project_id=owner_project_id(owner),
        kind="self_serve",
        owner_email=owner,
        pay_per_video_cents=0,
        perfect_bonus_cents=0,
    )
    return CollectionDefinition(**fields)


def retire_collection(
    conn: psycopg2.extensions.connection,
    collection_id: str,
    *,
    owner: str | None,
    now: datetime | None = None,
) -> Outcome:
    """A new version with ``enabled: false`` (the app stops offering it; videos stay).

    ``owner`` must be the collection's owner; None means ops, who may also retire a promoted
    collection (master-sheet collections are disabled in the sheet).
    """
    owner = owner_email(owner) if owner is not None else None
    now = now or datetime.now(UTC)
    with _change(conn) as catalog:
        if collection_id not in catalog:
            raise SelfServeError(f"no collection {collection_id!r}")
        if owner is not None:
            _check_owner(catalog, collection_id, owner)
        elif catalog.managed_by_sheet(collection_id):
            raise SelfServeError(
                f"{collection_id} is managed by the master sheet; set enabled to FALSE there"
            )
        current = catalog.latest(collection_id).definition
        return _record(conn, catalog, replace(current, enabled=False), now)


def promote_collection(
    conn: psycopg2.extensions.connection,
    collection_id: str,
    *,
    pay_per_video_cents: int,
    perfect_bonus_cents: int = 0,
    score_threshold=None,
    rate_limit_hours=None,
    now: datetime | None = None,
) -> Outcome:
    """Make a self-serve collection a paid campaign from a new version on (valid from now).

    For ops. The owner stays in the history (earlier versions); videos collected before stay
    unpaid, because a video is paid by the kind of the version it was collected under. The
    collection joins the public catalog. Promoting again changes the pay.
    """
    if pay_per_video_cents <= 0:
        raise SelfServeError("a paid campaign pays more than $0.00 per video")
    now = now or datetime.now(UTC)
    changes: dict[str, Any] = {
        "kind": "paid",
        "owner_email": None,
        "pay_per_video_cents": pay_per_video_cents,
        "perfect_bonus_cents": perfect_bonus_cents,
    }
    if score_threshold is not None:
        changes["score_threshold"] = score_threshold
    if rate_limit_hours is not None:
        changes["rate_limit_hours"] = rate_limit_hours
    with _change(conn) as catalog:
        if collection_id not in catalog:
            raise SelfServeError(f"no collection {collection_id!r}")
        if catalog.managed_by_sheet(collection_id):
            raise SelfServeError(
                f"{collection_id} is not a self-serve collection; the master sheet sets its pay"
            )
        current = catalog.latest(collection_id).definition
        return _record(conn, catalog, replace(current, **changes), now)


def list_collections(conn: psycopg2.extensions.connection, owner: str) -> list[OwnedCollection]:
    """The owner's collections (promoted ones included), by id."""
    owner = owner_email(owner)
    catalog = load_catalog(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id, enabled, reason FROM collection_status")
        status = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    conn.commit()
    found = []
    for cid in catalog.ids():
        if catalog.owner_of(cid) != owner:
            continue
        latest = catalog.latest(cid)
        promoted = next(
            (v.valid_from for v in catalog.history(cid) if v.definition.kind == "paid"), None
        )
        enabled, reason = status.get(cid, (False, "no status yet"))
        found.append(
            OwnedCollection(
                cid,
                latest.definition.name,
                latest.version,
                latest.definition.kind,
                enabled,
                reason,
                promoted,
            )
        )
    return found


# -- the owner's catalog ----------------------------------------------------------------------


def publish_catalogs(
    conn: psycopg2.extensions.connection,
    catalog_url: str,
    *,
    owners: list[str],
    public: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """Write these owners' catalog files (and the public catalog when ``public``) now, beside
    ``catalog_url`` (the public catalog's URL, ``settings.catalog_url()``); return the paths."""
    moment = (now or datetime.now(UTC)).astimezone(BUSINESS_TZ)
    public_catalog, owned = build_catalogs(conn, moment, [owner_email(o) for o in owners])
    files = {owner_catalog_name(o): catalog_json(c) for o, c in owned.items()}
    if public:
        files[catalog_url.rstrip("/").rsplit("/", 1)[-1]] = catalog_json(public_catalog)
    return write_catalog_files(catalog_url, files)


def publish_owner_catalog(
    conn: psycopg2.extensions.connection,
    owner: str,
    catalog_url: str,
    *,
    now: datetime | None = None,
) -> str:
    """Republish one owner's catalog file (public + their enabled self-serve collections)."""
    [path] = publish_catalogs(conn, catalog_url, owners=[owner], now=now)
    return path
