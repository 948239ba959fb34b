"""Who is asking: the workspace (mnist_core.workspaces) of each page and API client.

A visitor's corrected drawings and retrained models are theirs alone. Whose they are:
- the signed-in Hugging Face account, where the Space offers sign-in ("hf:<username>");
- otherwise an anonymous id kept in the browser (a gr.BrowserState), so that a reload, or a
  second tab, finds the same work ("browser:<id>");
- an API client (gradio_client) has no page: its workspace is its session ("session:<hash>").

A page learns its browser's id when it loads (`welcome`); anything it made before that (a
drawing kept in the first instant) is in its session's workspace and moves along. Signing in
after working anonymously moves the anonymous work into the account.
"""

from __future__ import annotations

import os
import re
import secrets
import threading

import gradio as gr

from mnist_core.workspaces import Workspace, move_into, user_data_dir

BROWSER_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
SECRET_ENV = "SKETCHLAB_SECRET"
MAX_PAGES = 10_000  # pages remembered at once; the oldest are forgotten first (they fall back to their session)

_owners: dict[str, str] = {}  # a page's session hash -> its owner
_lock = threading.Lock()


def browser_secret() -> str:
    """The key of the browser's id in its localStorage: $SKETCHLAB_SECRET, else one made once and kept
    in the user data folder, so that ids stay readable across restarts. Gradio sends it to the page
    (which encrypts with it): it hides the id from other sites, not from the browser's user; the id
    itself, 128 random bits, is what keeps one visitor's work from another."""
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = user_data_dir() / ".browser-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(16))
        except FileExistsError:
            pass  # another process made it first
    return path.read_text().strip()


def owner_of(request: gr.Request | None) -> str:
    """Whose work a request is about (see the module's docstring)."""
    session = getattr(request, "session_hash", None) or "none"
    return _owners.get(session) or f"session:{session}"


def workspace_of(request: gr.Request | None) -> Workspace:
    return Workspace.for_owner(owner_of(request))


def welcome(browser_id: object, profile: gr.OAuthProfile | None, request: gr.Request) -> str:
    """On page load: the page's owner from now on, and the browser's id to keep (a new one for a
    browser that has none). Work made before (by this page's session; anonymously, by a visitor who
    has just signed in) moves into the owner's workspace."""
    if not (isinstance(browser_id, str) and BROWSER_ID_PATTERN.match(browser_id)):
        browser_id = secrets.token_hex(16)
    anonymous = f"browser:{browser_id}"
    username = getattr(profile, "username", None) if profile is not None else None
    owner = f"hf:{username}" if username else anonymous
    workspace = Workspace.for_owner(owner)
    move_into(Workspace.for_owner(f"session:{request.session_hash}"), workspace)
    if owner != anonymous:
        move_into(Workspace.for_owner(anonymous), workspace)
    if workspace.root.exists():  # a visitor who never keeps anything gets no folder
        workspace.touch()
    with _lock:
        _owners.pop(request.session_hash, None)
        _owners[request.session_hash] = owner
        while len(_owners) > MAX_PAGES:
            _owners.pop(next(iter(_owners)))
    return browser_id


def goodbye(request: gr.Request) -> None:
    """A page closed: forget its session."""
    with _lock:
        _owners.pop(request.session_hash, None)


def sign_in_offered() -> bool:
    """Sign-in is offered on a Hugging Face Space that enables it (hf_oauth: true sets OAUTH_CLIENT_ID).
    Elsewhere Gradio's stand-in sign-in would need this machine's own Hugging Face token."""
    return bool(os.environ.get("OAUTH_CLIENT_ID") and os.environ.get("SPACE_ID"))


def visitor_state() -> gr.BrowserState:
    """The browser's anonymous id, encrypted in its localStorage."""
    return gr.BrowserState(None, storage_key="sketchlab-visitor", secret=browser_secret())
