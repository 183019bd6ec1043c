"""Dropbox's ``content_hash``: SHA-256 over the SHA-256 of each 4 MiB block.

Follows https://www.dropbox.com/developers/reference/content-hash; the sandbox checks the hash
a client sends for the data of each call (``content_hash_mismatch``) and stores it per file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK_SIZE = 4 * 1024 * 1024  # content_hash blocks


class ContentHasher:
    """Dropbox's content_hash: SHA-256 over the SHA-256 of each 4 MiB block, fed incrementally."""

    def __init__(self) -> None:
        self.overall = hashlib.sha256()
        self.block = hashlib.sha256()
        self.filled = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.filled == BLOCK_SIZE:
                self.overall.update(self.block.digest())
                self.block, self.filled = hashlib.sha256(), 0
            part = view[: BLOCK_SIZE - self.filled]
            self.block.update(part)
            self.filled += len(part)
            view = view[len(part) :]

    def hexdigest(self) -> str:
        overall = self.overall.copy()
        if self.filled:
            overall.update(self.block.digest())
        return overall.hexdigest()


def assemble(chunks: list[Path], target: Path) -> str:
    """Concatenate a session's chunks into ``target``; the content hash of the whole file."""
    hasher = ContentHasher()
    with target.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as src:
                while data := src.read(BLOCK_SIZE):
                    out.write(data)
                    hasher.update(data)
    return hasher.hexdigest()
