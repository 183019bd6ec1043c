"""Public dataset releases of accepted videos (FAQ 7), the way People in Public describes them.

A release holds one actor-centred tubelet clip per activity that reviewers rated positively
(every reviewer passed it: score 1), in an accepted video whose every subject has consent on
file and none withdrew (FAQ 10). Per clip: the actor's boxes over the clip's frames, dilated
2.0x around their union, made square at its largest side, cropped with zero padding where the
square leaves the frame and resized to 512x512, H.264; the activity is padded in time by the
category's rule (``release_padding_rules``: data, not code), clamped to the video.

One ffmpeg process per source video renders all of its clips (decode once, ``split``, one
encoder per clip), never one full decode per activity (bench/release.py measures both).

Files are written through path-like objects (``pathlib.Path`` or Airflow's
``ObjectStoragePath``). Everything but the clips is byte-for-byte reproducible from the
warehouse: a rebuild of the same name and version is compared with the published manifest,
and a published version is never overwritten.

Modules: ``rules`` (geometry, padding, splits, names), ``plan`` (selection and the recorded
plan), ``clips`` (ffmpeg), ``files`` (annotations, datasheet, manifest), ``build`` (building and
publishing). DAG: dataset_release.
"""
