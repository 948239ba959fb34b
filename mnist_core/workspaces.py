"""Workspaces: whose retrained models and corrected drawings are whose.

On a public server strangers use the app at the same time, so what a visitor makes belongs
to that visitor: each owner (a signed-in account, an anonymous browser, an API client's
session) has a workspace, a folder of its own:

    <user data>/workspaces/<sha256 of the owner, 32 hex>/models/<id>.safetensors
    <user data>/workspaces/<sha256 of the owner, 32 hex>/samples/...   (see user_samples)

The folder's name is a hash, never the owner's text, so no input can point outside it. The
user data folder itself is the *local* workspace (`Workspace.local()`): what the command line
and a single person on a laptop use, and, on a server, the models its operator put there,
which every visitor can read and none can delete (see registry.list_models).

Limits, so that no visitor can block another: QUOTA per workspace (models, drawings, bytes),
and a server-wide DISK_BUDGET: when a write would pass it, the anonymous workspaces unused the
longest are removed first (`make_room`). Signed-in workspaces are never evicted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

USER_DATA_ENV = "SKETCHLAB_DATA_DIR"
WORKSPACES = "workspaces"
SIGNED_IN = "hf:"  # owners "hf:<username>" are signed-in accounts; every other owner is anonymous
LAST_USED = ".last-used"  # a file whose mtime says when the workspace was last used
SIGNED_IN_MARK = ".signed-in"  # present in a signed-in owner's workspace: never evicted
DISK_BUDGET_ENV = "SKETCHLAB_DISK_BUDGET_MB"
DEFAULT_DISK_BUDGET_MB = 2048


def user_data_dir() -> Path:
    """Where retrained models and user samples live: $SKETCHLAB_DATA_DIR, else a Hugging
    Face Space's persistent storage (/data) when it is writable, else ./user_data."""
    if os.environ.get(USER_DATA_ENV):
        return Path(os.environ[USER_DATA_ENV])
    if os.path.isdir("/data") and os.access("/data", os.W_OK):
        return Path("/data")
    return Path("user_data")


@dataclass(frozen=True)
class Quota:
    models: int = 10
    drawings: int = 500
    megabytes: int = 64


QUOTA = Quota()


class QuotaError(ValueError):
    """A workspace is full (models, drawings or bytes) or the server has no room: the message is for the user."""


@dataclass(frozen=True)
class Workspace:
    """A folder holding one owner's models and drawings. `anonymous` ones may be evicted."""

    root: Path
    anonymous: bool = True
    local: bool = False  # the user data folder itself (see the module's docstring)

    @classmethod
    def for_owner(cls, owner: str) -> Workspace:
        """The workspace of `owner`, e.g. "hf:alice", "browser:<random id>", "session:<hash>"."""
        if not isinstance(owner, str) or not owner:
            raise ValueError("a workspace's owner is a non-empty string")
        name = hashlib.sha256(owner.encode()).hexdigest()[:32]
        return cls(user_data_dir() / WORKSPACES / name, anonymous=not owner.startswith(SIGNED_IN))

    @classmethod
    def local_one(cls) -> Workspace:
        return cls(user_data_dir(), anonymous=False, local=True)

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    def touch(self) -> None:
        """Mark the workspace as used now (eviction removes the longest-unused first)."""
        if self.local:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / LAST_USED).touch()
        if not self.anonymous:
            (self.root / SIGNED_IN_MARK).touch()

    def last_used(self) -> float:
        try:
            return (self.root / LAST_USED).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def size_bytes(self) -> int:
        return folder_bytes(self.models_dir) + folder_bytes(self.samples_dir)


def local_or(workspace: Workspace | None) -> Workspace:
    """`workspace`, or the local one when none is given (the command line, tests of the core)."""
    return workspace if workspace is not None else Workspace.local_one()


def folder_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except FileNotFoundError:
                pass  # deleted meanwhile
    return total


def disk_budget_bytes() -> int:
    try:
        return int(float(os.environ.get(DISK_BUDGET_ENV, DEFAULT_DISK_BUDGET_MB)) * 2**20)
    except ValueError:
        return DEFAULT_DISK_BUDGET_MB * 2**20


def all_workspaces() -> list[Workspace]:
    """Every per-owner workspace on disk (not the local one). Whether one is anonymous is
    recorded in it (SIGNED_IN_MARK), since its folder name cannot tell."""
    root = user_data_dir() / WORKSPACES
    if not root.is_dir():
        return []
    return [Workspace(p, anonymous=not (p / SIGNED_IN_MARK).exists()) for p in root.iterdir() if p.is_dir()]


_room_lock = threading.Lock()


def make_room(workspace: Workspace, new_bytes: int) -> list[Workspace]:
    """Before writing `new_bytes` into `workspace`: check its quota, and keep the server within
    DISK_BUDGET by removing the anonymous workspaces unused the longest (never `workspace`
    itself, never a signed-in one). Returns those removed; QuotaError if it cannot fit."""
    if workspace.local:
        return []
    if workspace.size_bytes() + new_bytes > QUOTA.megabytes * 2**20:
        raise QuotaError(f"Your workspace is full ({QUOTA.megabytes} MB of models and drawings). "
                         "Delete some models or drawings in the Retrain tab first.")
    removed = []
    with _room_lock:
        workspace.touch()
        others = sorted((w for w in all_workspaces() if w.root != workspace.root and w.anonymous),
                        key=Workspace.last_used)
        used = folder_bytes(user_data_dir() / WORKSPACES)
        while used + new_bytes > disk_budget_bytes() and others:
            oldest = others.pop(0)
            freed = oldest.size_bytes()
            shutil.rmtree(oldest.root, ignore_errors=True)
            used -= freed
            removed.append(oldest)
        if used + new_bytes > disk_budget_bytes():
            raise QuotaError("This server has no room left for new models or drawings right now. "
                             "Try again later.")
    return removed


def move_into(source: Workspace, target: Workspace) -> int:
    """Move everything `source` holds into `target` (an anonymous visitor who signs in, or a
    page's first actions made before it knew its browser's id); return how many files moved.
    Files keep their names (model and drawing ids are random); `source` is removed."""
    if source.root == target.root or not source.root.is_dir():
        return 0
    moved = 0
    for folder in (source.models_dir, source.samples_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                destination = target.root / path.relative_to(source.root)
                destination.parent.mkdir(parents=True, exist_ok=True)
                if not destination.exists():
                    os.replace(path, destination)  # one file system: atomic, never half a file
                    moved += 1
    shutil.rmtree(source.root, ignore_errors=True)
    target.touch()
    return moved


def remove_partial_files(since_s: float = 3600.0) -> int:
    """Remove the temporary files of writes that never finished (a server killed during a
    save), older than `since_s`; they are never listed, this only frees their space."""
    removed = 0
    cutoff = time.time() - since_s
    for path in user_data_dir().rglob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
    return removed
