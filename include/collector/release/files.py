"""The release's own files: per-clip annotations, ``annotations.csv``, ``takedown.csv``, the
README datasheet with its histogram, and ``manifest.json`` (size + SHA-256 of every file).
Everything here is byte-for-byte reproducible from the warehouse."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from typing import Any

import psycopg2.extensions

from collector.core.clock import BUSINESS_TZ
from collector.release.clips import ffmpeg_version
from collector.release.plan import ReleaseItem, ReleaseParams, load_items, padding_rules
from collector.release.rules import (
    CLIP_PX,
    DILATION,
    ENCODER_OPTIONS,
    LICENCE,
    LICENCE_URL,
    SPLITS,
    PaddingRule,
    canonical_json,
)


def _annotations(release_dir: Any, items: list[ReleaseItem]) -> list[dict]:
    return [
        json.loads((release_dir / "annotations" / f"{i.clip_id}.json").read_bytes()) for i in items
    ]


def annotations_csv(annotations: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "clip_id",
            "split",
            "category",
            "shortname",
            "video_id",
            "collection_id",
            "activity_index",
            "source_first_frame",
            "source_last_frame",
            "frame_count",
            "frame_rate",
            "crop_x",
            "crop_y",
            "crop_side",
            "clip",
            "annotation",
        ]
    )
    for a in annotations:
        src = a["source"]
        writer.writerow(
            [
                a["clip_id"],
                a["split"],
                a["category"],
                a["shortname"],
                src["video_id"],
                src["collection_id"],
                src["activity_index"],
                *src["clip_frames"],
                a["clip"]["frame_count"],
                a["clip"]["frame_rate"],
                src["crop"]["x"],
                src["crop"]["y"],
                src["crop"]["side"],
                f"clips/{a['clip_id']}.mp4",
                f"annotations/{a['clip_id']}.json",
            ]
        )
    return out.getvalue().encode()


def takedown_rows(conn, name: str, version: str) -> list[list[str]]:
    """Items of earlier published releases whose subject has since withdrawn consent."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.name, r.version, ri.clip_id, ri.video_id,
                      min(w.withdrawn_at AT TIME ZONE 'UTC')::date
               FROM release_items ri
               JOIN dataset_releases r USING (name, version)
               JOIN consent_withdrawals w ON w.subject_email = ANY(ri.subject_emails)
               WHERE r.status = 'published' AND (r.name, r.version) <> (%s, %s)
               GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3""",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return [[n, v, c, vid, f"clips/{c}.mp4", d.isoformat()] for n, v, c, vid, d in rows]


def takedown_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["release", "version", "clip_id", "video_id", "clip", "consent_withdrawn_on"])
    writer.writerows(rows)
    return out.getvalue().encode()


def histogram_svg(counts: dict[str, int]) -> bytes:
    """Instances per category as a horizontal bar chart (plain SVG, no plotting library)."""
    bar_h, label_w, chart_w, top = 22, 300, 420, 40
    most = max(counts.values()) if counts else 1
    height = top + bar_h * len(counts) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + chart_w + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="13">',
        '<text x="10" y="22" font-size="15" font-weight="bold">Instances per category</text>',
    ]
    for n, (category, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        y = top + n * bar_h
        width = max(1, round(chart_w * count / most))
        parts += [
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_xml(category)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{bar_h - 6}" fill="#3b6ea8"/>',
            f'<text x="{label_w + width + 6}" y="{y + 15}">{count}</text>',
        ]
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def datasheet(
    params: ReleaseParams,
    annotations: list[dict],
    items: list[ReleaseItem],
    collected: tuple[date, date],
    rules: list[PaddingRule],
    takedowns: int,
    ffmpeg: str,
) -> bytes:
    """README.md: what is in the release, where it came from and how it was made."""
    per_category: dict[str, Counter] = defaultdict(Counter)
    for a in annotations:
        per_category[a["category"]][a["split"]] += 1
    lines = [
        *_datasheet_intro(params, annotations, items, collected, len(per_category)),
        *_category_rows(per_category),
        *_datasheet_splits(annotations, items),
        *_datasheet_method(rules, ffmpeg),
        *_datasheet_parameters(params, takedowns),
    ]
    return "\n".join(lines).encode()


def _datasheet_intro(
    params: ReleaseParams,
    annotations: list[dict],
    items: list[ReleaseItem],
    collected: tuple[date, date],
    categories: int,
) -> list[str]:
    """Title, summary, licence, contents and the head of the per-category table."""
    collectors = {i.collector_id for i in items}
    videos = {i.video_id for i in items}
    return [
        f"# {params.name} {params.version}",
        "",
        f"{len(annotations)} actor-centred activity clips in {categories} categories, cut "
        f"from {len(videos)} videos recorded by {len(collectors)} collectors between "
        f"{collected[0].isoformat()} and {collected[1].isoformat()} (America/New_York). Every "
        "person recorded consented to the recording and confirmed being 18 or older; the "
        "consent video was compared with the person in the video by the review team.",
        "",
        "## Licence",
        "",
        f"{LICENCE}: {LICENCE_URL}. Attribute the collectors as the People in Public release "
        "does: cite the release name and version.",
        "",
        "## Contents",
        "",
        "| path | what |",
        "|---|---|",
        "| `clips/<clip_id>.mp4` | the clip: H.264, 512x512, the source's frame rate, no audio |",
        "| `annotations/<clip_id>.json` | category, frames, the actor's box per frame (clip pixels), source video and collection |",
        "| `annotations.csv` | one row per clip, the same fields as the JSON except the boxes |",
        "| `splits/{train,val,test}.txt` | clip ids per split |",
        "| `instances_per_category.svg` | the histogram below |",
        "| `takedown.csv` | clips of earlier releases to delete: their subject withdrew consent |",
        "| `manifest.json` | every file's size and SHA-256, and the ffmpeg that made the clips |",
        "",
        "## Instances per category",
        "",
        "![instances per category](instances_per_category.svg)",
        "",
        "| category | clips | train | val | test |",
        "|---|---:|---:|---:|---:|",
    ]


def _category_rows(per_category: dict[str, Counter]) -> list[str]:
    """One table row per category, most clips first: total, then per split."""
    lines = []
    for category in sorted(per_category, key=lambda c: (-sum(per_category[c].values()), c)):
        counts = per_category[category]
        lines.append(
            f"| {category} | {sum(counts.values())} | "
            + " | ".join(str(counts.get(s, 0)) for s, _ in SPLITS)
            + " |"
        )
    return lines


def _datasheet_splits(annotations: list[dict], items: list[ReleaseItem]) -> list[str]:
    """How the splits were made and their clips and collectors."""
    split_counts = Counter(a["split"] for a in annotations)
    split_collectors: dict[str, set] = defaultdict(set)
    by_clip = {a["clip_id"]: a["split"] for a in annotations}
    for i in items:
        split_collectors[by_clip[i.clip_id]].add(i.collector_id)
    return [
        "",
        "## Splits",
        "",
        "No collector appears in two splits, so a model is tested on people and places it has "
        "not seen. Collectors are assigned largest first to the split furthest below its share "
        "(train 70 %, val 10 %, test 20 % of clips); ties are ordered by a hash of the release "
        "name, so the same name gives the same splits.",
        "",
        "| split | clips | collectors |",
        "|---|---:|---:|",
        *(
            f"| {s} | {split_counts.get(s, 0)} | {len(split_collectors.get(s, ()))} |"
            for s, _ in SPLITS
        ),
        "",
    ]


def _datasheet_method(rules: list[PaddingRule], ffmpeg: str) -> list[str]:
    """How clips were selected, cropped, encoded and padded in time."""
    return [
        "## How it was made",
        "",
        "- Selected: activities every reviewer rated positively (Good or Perfect; a warning "
        "such as Repeated scene allowed), in videos that passed every check and were accepted, "
        "whose every subject has consent on file and has not withdrawn it.",
        f"- Clips: the actor's boxes over the clip's frames, their union dilated {DILATION}x "
        "about its centre and made square at its largest side; where the square leaves the "
        f"frame it is padded with black. Resized to {CLIP_PX}x{CLIP_PX} and encoded with "
        f"x264 (crf {ENCODER_OPTIONS['crf']}) by ffmpeg {ffmpeg}, one process per source video.",
        "- Boxes between the app's keyframes are linearly interpolated; in the JSON they are in "
        "clip pixels: source = clip / (512 / crop side) + crop origin.",
        "- Temporal padding per category, clamped to the source video:",
        "",
        "| category | before (s) | after (s) | at least (s) | why |",
        "|---|---:|---:|---:|---|",
        *(
            f"| {r.category} | {r.pad_before_s:g} | {r.pad_after_s:g} | {r.min_length_s:g} | {r.why} |"
            for r in rules
        ),
        "",
    ]


def _datasheet_parameters(params: ReleaseParams, takedowns: int) -> list[str]:
    """The selection parameters as JSON, and the takedown notice."""
    return [
        "## Selection parameters",
        "",
        "```json",
        json.dumps(params.as_json(), indent=1, sort_keys=True),
        "```",
        "",
        "## Takedowns",
        "",
        f"`takedown.csv` lists {takedowns} clip(s) of earlier releases whose subject has since "
        "withdrawn consent. If you hold an earlier release, delete those clips.",
        "",
    ]


def _collected_range(conn, items: list[ReleaseItem]) -> tuple[date, date]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT min(collected_at), max(collected_at) FROM videos WHERE video_id = ANY(%s)",
            (sorted({i.video_id for i in items}),),
        )
        first, last = cur.fetchone()
    conn.commit()
    return first.astimezone(BUSINESS_TZ).date(), last.astimezone(BUSINESS_TZ).date()


def _files(root: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _files(entry, relative + "/")
        elif relative != "manifest.json":
            yield relative, entry


def write_release_files(
    conn: psycopg2.extensions.connection, params: ReleaseParams, release_dir: Any
) -> dict[str, Any]:
    """Write everything but the clips' own bytes, then the manifest (last, over all files)."""
    items = load_items(conn, params.name, params.version)
    annotations = _annotations(release_dir, items)
    (release_dir / "annotations.csv").write_bytes(annotations_csv(annotations))
    splits_dir = release_dir / "splits"
    splits_dir.mkdir(parents=True, exist_ok=True)
    for split, _ in SPLITS:
        ids = [a["clip_id"] for a in annotations if a["split"] == split]
        (splits_dir / f"{split}.txt").write_bytes("".join(f"{c}\n" for c in ids).encode())
    counts = Counter(a["category"] for a in annotations)
    (release_dir / "instances_per_category.svg").write_bytes(histogram_svg(dict(counts)))
    takedowns = takedown_rows(conn, params.name, params.version)
    (release_dir / "takedown.csv").write_bytes(takedown_csv(takedowns))
    version = ffmpeg_version()
    (release_dir / "README.md").write_bytes(
        datasheet(
            params,
            annotations,
            items,
            _collected_range(conn, items),
            padding_rules(conn),
            len(takedowns),
            version,
        )
    )
    files = []
    for relative, path in _files(release_dir):
        data = path.read_bytes()
        files.append(
            {"path": relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    manifest = canonical_json(
        {
            "release": params.name,
            "version": params.version,
            "licence": LICENCE,
            "ffmpeg": version,
            "clips": len(annotations),
            "files": files,
        }
    )
    (release_dir / "manifest.json").write_bytes(manifest)
    return {
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "clips": len(annotations),
        "takedowns": len(takedowns),
        "ffmpeg": version,
        "readme": str(release_dir / "README.md"),
    }


def compare_manifests(published: bytes, rebuilt: bytes) -> list[str]:
    """Paths whose bytes differ between two manifests (clips only count if ffmpeg is the same)."""
    old, new = json.loads(published), json.loads(rebuilt)
    same_ffmpeg = old.get("ffmpeg") == new.get("ffmpeg")
    before = {f["path"]: f["sha256"] for f in old["files"]}
    after = {f["path"]: f["sha256"] for f in new["files"]}
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and (same_ffmpeg or not path.startswith("clips/"))
    )
