"""Everything the Google routes share, one object on ``app.state.google``; routes get it as a
FastAPI dependency (:data:`GoogleDep`) instead of closing over locals."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from sandbox.google.drives import Directory
from sandbox.google.quota import Quota
from sandbox.google.store import Store


@dataclass
class GoogleState:
    store: Store
    directory: Directory
    base_url: str = ""
    quota: Quota = field(default_factory=Quota)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> acting principal
    faults: list[dict] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "writes": 0, "reads": 0, "faults_injected": 0}
    )

    @classmethod
    def open(cls, state_dir: Path, base_url: str = "") -> GoogleState:
        return cls(Store(state_dir), Directory(state_dir), base_url)


def google_state(request: Request) -> GoogleState:
    return request.app.state.google


GoogleDep = Annotated[GoogleState, Depends(google_state)]
