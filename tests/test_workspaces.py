"""Workspaces: each visitor's drawings and models are theirs alone, within quotas; the training
line is short and fair; a killed server loses nothing. In-process first, then through a real
server with two API clients and two browser visitors, and a server killed with SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from PIL import Image

import mnist_core
from ui import visitors
from conftest import ROOT, open_page, start_app, stop_app
from mnist_core import retrain as rt
from mnist_core import user_samples as us
from mnist_core import workspaces as ws
from mnist_core.registry import list_models, model_path, own_models
from mnist_core.weights import load_weights
from test_retrain import TINY, digit_png, files_under, run_to_end, wait_for


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user_data"
    monkeypatch.setenv("SKETCHLAB_DATA_DIR", str(folder))
    return folder


def a_model(workspace: ws.Workspace | None, name: str = "") -> str:
    """A retrained model saved in `workspace` (a tiny run)."""
    run = run_to_end(rt.make_settings(**TINY, name=name), workspace=workspace)
    return rt.save_run(run)


# --- In-process -------------------------------------------------------------------------------


@pytest.mark.parametrize("owner", ["hf:alice", "browser:" + "a" * 32, "session:x", "../../etc", "hf:../../../x", "\x00/"])
def test_a_workspace_is_a_hashed_folder_inside_the_data_folder(data_dir: Path, owner: str) -> None:
    workspace = ws.Workspace.for_owner(owner)
    assert workspace.root.parent == data_dir / "workspaces"
    assert workspace.root.name == hashlib.sha256(owner.encode()).hexdigest()[:32]
    assert workspace.anonymous == (not owner.startswith("hf:"))


def test_a_visitor_cannot_list_use_or_delete_another_visitors_models_and_drawings(data_dir: Path, tmp_path: Path) -> None:
    alice, bob = ws.Workspace.for_owner("browser:" + "a" * 32), ws.Workspace.for_owner("browser:" + "b" * 32)
    model_id = a_model(alice)
    sample_id = us.save_user_sample(Image.open(digit_png(tmp_path / "7.png", "7")), 7, alice)

    assert model_id in list_models(workspace=alice) and model_id in own_models(alice)
    assert model_id not in list_models(workspace=bob) and model_id not in list_models()  # nor in the local one
    mnist_core.load_model(model_id, workspace=alice)
    with pytest.raises(KeyError) as unknown:
        model_path(model_id, workspace=bob)
    with pytest.raises(KeyError) as never_existed:
        model_path("lenet5-0000-beef00", workspace=bob)
    # Worded exactly as for an id that never existed.
    assert str(unknown.value).replace(model_id, "ID") == str(never_existed.value).replace("lenet5-0000-beef00", "ID")
    with pytest.raises(rt.RetrainError, match="There is no retrained model .* of yours"):
        rt.delete_retrained_model(model_id, bob)

    assert [s.id for s in us.list_user_samples(alice)] == [sample_id]
    assert us.list_user_samples(bob) == [] and us.count_user_samples(bob) == 0
    with pytest.raises(us.UserSampleError, match="No drawing with id"):
        us.delete_user_sample(sample_id, bob)
    assert us.count_user_samples(alice) == 1

    rt.delete_retrained_model(model_id, alice)  # the owner can
    assert model_id not in list_models(workspace=alice)


def test_the_local_workspaces_models_are_everyones_and_nobody_elses_to_delete(data_dir: Path) -> None:
    model_id = a_model(None, "the operator's")  # the command line's, or the server operator's
    visitor = ws.Workspace.for_owner("session:someone")
    assert model_id in list_models(workspace=visitor)
    mnist_core.load_model(model_id, workspace=visitor)
    with pytest.raises(rt.RetrainError, match="of yours"):
        rt.delete_retrained_model(model_id, visitor)


def test_quotas_per_workspace_say_what_to_do(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    visitor = ws.Workspace.for_owner("session:busy")
    image = Image.open(digit_png(tmp_path / "1.png", "1"))
    monkeypatch.setattr(ws, "QUOTA", ws.Quota(models=1, drawings=2, megabytes=64))
    monkeypatch.setattr(us, "QUOTA", ws.QUOTA)
    monkeypatch.setattr(rt, "QUOTA", ws.QUOTA)
    us.save_user_sample(image, 1, visitor)
    us.save_user_sample(image, 1, visitor)
    with pytest.raises(us.UserSampleError, match=r"Your collection of drawings is full \(2\)\. Delete some"):
        us.save_user_sample(image, 1, visitor)
    a_model(visitor)
    with pytest.raises(rt.RetrainError, match="You already have 1 retrained models, the most you can keep"):
        a_model(visitor)
    # Bytes: a workspace of 0 MB takes nothing, with its own message; the others are untouched.
    monkeypatch.setattr(ws, "QUOTA", ws.Quota(models=5, drawings=5, megabytes=0))
    with pytest.raises(us.UserSampleError, match=r"Your workspace is full \(0 MB"):
        us.save_user_sample(image, 1, ws.Workspace.for_owner("session:other"))
    assert us.count_user_samples(ws.Workspace.for_owner("session:other")) == 0


def test_the_disk_budget_evicts_the_longest_unused_anonymous_workspaces_first(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    image = Image.open(digit_png(tmp_path / "1.png", "1"))
    owners = ["session:oldest", "hf:alice", "session:newer"]
    for age, owner in zip([3000, 2000, 1000], owners):
        workspace = ws.Workspace.for_owner(owner)
        us.save_user_sample(image, 1, workspace)
        os.utime(workspace.root / ws.LAST_USED, (time.time() - age, time.time() - age))
    used = ws.folder_bytes(data_dir / "workspaces")
    # Room for all but about one more workspace's drawings: the oldest anonymous one goes.
    monkeypatch.setenv(ws.DISK_BUDGET_ENV, str((used + 100) / 2**20))
    writer = ws.Workspace.for_owner("session:writer")
    us.save_user_sample(image, 1, writer)
    counts = {owner: us.count_user_samples(ws.Workspace.for_owner(owner)) for owner in owners}
    assert counts == {"session:oldest": 0, "hf:alice": 1, "session:newer": 1}
    assert us.count_user_samples(writer) == 1
    # Nothing anonymous left to evict but the writer itself: refused, nothing lost.
    monkeypatch.setenv(ws.DISK_BUDGET_ENV, "0")
    with pytest.raises(us.UserSampleError, match="This server has no room left"):
        us.save_user_sample(image, 1, writer)
    assert us.count_user_samples(ws.Workspace.for_owner("hf:alice")) == 1  # signed in: never evicted
    assert us.count_user_samples(writer) == 1


def test_a_full_disk_is_a_clear_message_and_leaves_nothing_half_written(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    visitor = ws.Workspace.for_owner("session:full-disk")
    image = Image.open(digit_png(tmp_path / "1.png", "1"))
    us.save_user_sample(image, 1, visitor)
    before = files_under(visitor.samples_dir)
    real_replace = os.replace

    def disk_full_on_second_file(source, target):
        if "mnist28" in str(target):
            raise OSError(28, "No space left on device")
        return real_replace(source, target)

    monkeypatch.setattr(us.os, "replace", disk_full_on_second_file)
    with pytest.raises(us.UserSampleError, match=r"could not be saved \(No space left on device\); nothing was changed"):
        us.save_user_sample(image, 2, visitor)
    assert files_under(visitor.samples_dir) == before  # neither image of the failed drawing stays
    assert us.count_user_samples(visitor) == 1


class Request(SimpleNamespace):
    """What visitors.py reads of a gr.Request: its session."""


def test_signing_in_takes_the_anonymous_work_along(data_dir: Path, tmp_path: Path) -> None:
    """Through the seam where the signed-in profile arrives (visitors.welcome, on page load)."""
    page = Request(session_hash="page-1")
    image = Image.open(digit_png(tmp_path / "7.png", "7"))
    # A drawing kept in the page's first instant, before it knew its browser: its session's.
    early = us.save_user_sample(image, 7, visitors.workspace_of(page))
    browser_id = visitors.welcome(None, None, page)  # a new browser gets an id
    assert len(browser_id) == 32 and visitors.owner_of(page) == f"browser:{browser_id}"
    model_id = a_model(visitors.workspace_of(page))
    later = us.save_user_sample(image, 7, visitors.workspace_of(page))
    assert {s.id for s in us.list_user_samples(visitors.workspace_of(page))} == {early, later}

    reloaded = Request(session_hash="page-2")  # a reload: the same browser, the same work
    assert visitors.welcome(browser_id, None, reloaded) == browser_id
    assert us.count_user_samples(visitors.workspace_of(reloaded)) == 2

    signed_in = Request(session_hash="page-3")  # signs in (the sign-in page reloads the app)
    profile = gr.OAuthProfile({"name": "Alice", "preferred_username": "alice", "profile": "", "picture": ""})
    visitors.welcome(browser_id, profile, signed_in)
    account = visitors.workspace_of(signed_in)
    assert visitors.owner_of(signed_in) == "hf:alice" and not account.anonymous
    assert {s.id for s in us.list_user_samples(account)} == {early, later}
    assert own_models(account) == [model_id]
    mnist_core.load_model(model_id, workspace=account)
    anonymous = ws.Workspace.for_owner(f"browser:{browser_id}")
    assert us.count_user_samples(anonymous) == 0 and own_models(anonymous) == []
    assert not anonymous.root.exists()

    visitors.goodbye(signed_in)
    assert visitors.owner_of(signed_in) == "session:page-3"


@pytest.mark.parametrize("browser_id", ["../../x", "A" * 32, 42, {"id": 1}, ""])
def test_a_browser_id_that_is_not_ours_gets_a_new_one(data_dir: Path, browser_id: object) -> None:
    new = visitors.welcome(browser_id, None, Request(session_hash="odd"))
    assert new != browser_id and visitors.BROWSER_ID_PATTERN.match(new)


def test_the_training_line_is_short_and_one_place_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rt, "_line", [])
    assert rt.expect("one") is None
    for owner in ("two", "three"):
        assert "before yours" in rt.expect(owner)
    with pytest.raises(rt.AlreadyYours, match="already waiting for its turn"):
        rt.expect("two")
    with pytest.raises(rt.Busy, match=r"The server is busy: 3 runs wait for their turn\. Try again in about \d+ s\."):
        rt.expect("four")
    assert rt.cancel("two") == "unqueued"
    assert rt.expect("four")  # a cancelled place is free again
    assert rt.cancel("nobody") == "nothing"


# --- A killed writer leaves nothing half-written -------------------------------------------------

SAVER = """
import sys, torch
from mnist_core.models import build_model
from mnist_core.weights import save_weights
model = build_model("cnn-10-20")  # 4 MB a file: a kill often lands inside a write
folder = sys.argv[1]
i = 0
while True:
    save_weights(model, f"{folder}/cnn-10-20-0000-{i % 8:06x}.safetensors", {"id": f"cnn-10-20-0000-{i % 8:06x}", "base_model": "cnn-10-20"})
    i += 1
    print(i, flush=True)
"""


def test_a_process_killed_while_saving_leaves_every_listed_model_whole(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    for attempt in range(5):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3 + attempt):  # let it save a few times, then kill it mid-way through another
            assert saver.stdout.readline(), "the saver stopped"
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        saver.stdout.close()
        for path in folder.glob("*.safetensors"):  # what a listing sees: every file whole
            load_weights(mnist_core.build_model("cnn-10-20"), path)
    assert list(folder.glob("*.safetensors"))


# --- Through the real server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def killable(tmp_path_factory: pytest.TempPathFactory):
    """A server of its own (it is killed and restarted): {"process", "url", "folder", "logs"}."""
    folder = tmp_path_factory.mktemp("workspaces") / "user_data"
    logs = tmp_path_factory.mktemp("workspaces-app")
    process, url = start_app(folder, logs)
    server = {"process": process, "url": url, "folder": folder, "logs": logs}
    yield server
    stop_app(server["process"])


def test_two_api_clients_each_see_and_use_only_their_own_models(killable: dict, tmp_path: Path) -> None:
    alice, bob = Client(killable["url"], verbose=False), Client(killable["url"], verbose=False)
    done = alice.predict(**TINY, name="alice's", keep_if_worse=True, api_name="/retrain")
    model_id = done["model_id"]
    one = handle_file(digit_png(tmp_path / "1.png", "1"))
    assert alice.predict(one, model_id, api_name="/predict")["label"] == "1"
    with pytest.raises(Exception) as refused:
        bob.predict(one, model_id, api_name="/predict")
    with pytest.raises(Exception) as never_existed:
        bob.predict(one, "lenet5-0000-beef00", api_name="/predict")
    assert str(refused.value).replace(model_id, "ID") == str(never_existed.value).replace("lenet5-0000-beef00", "ID")
    assert model_id not in str(refused.value).split("Available models:")[1]  # not listed to bob either
    with pytest.raises(Exception, match="Unknown model"):
        bob.predict(one, model_id, api_name="/read_number")


def test_two_browser_visitors_each_see_their_own_drawings_and_keep_them_across_a_reload(
        killable: dict, browser) -> None:
    from playwright.sync_api import expect

    from test_browser import ONE, draw

    url = killable["url"]
    alice, bob = open_page(browser, url), open_page(browser, url)
    try:
        draw(alice, ONE)
        alice.locator("#correct-digit").get_by_label("7", exact=True).check()
        alice.locator("#keep-drawing").click()
        expect(alice.locator("#correction-note")).to_contain_text("Kept as a 7: 1 drawing(s) kept so far")

        for page, count in ((alice, 1), (bob, 0)):
            page.get_by_role("tab", name="Retrain").click()
            expect(page.get_by_text(f"Include your corrected drawings ({count})")).to_be_visible()
        bob.get_by_role("button", name=re.compile("^Your drawings")).click()
        expect(bob.locator("#samples-note")).to_contain_text("0 drawing(s) kept")

        alice.reload()  # the browser keeps its id: the same drawings
        alice.get_by_role("tab", name="Retrain").click()
        expect(alice.get_by_text("Include your corrected drawings (1)")).to_be_visible()
        second_tab = open_page(alice.context, url)
        second_tab.get_by_role("tab", name="Retrain").click()
        expect(second_tab.get_by_text("Include your corrected drawings (1)")).to_be_visible()
    finally:
        alice.context.close()
        bob.context.close()


def test_a_server_killed_during_a_training_loses_nothing_saved_before(killable: dict, tmp_path: Path) -> None:
    url, folder = killable["url"], killable["folder"]
    owner = Client(url, verbose=False)
    kept = owner.predict(**TINY, name="kept before the kill", keep_if_worse=True, api_name="/retrain")["model_id"]
    saved = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(folder) if not p.name.startswith(".")}
    assert any(p.stem == kept for p in saved)

    trainer = Client(url, verbose=False)
    job = trainer.submit(architecture="lenet5", epochs=20, train_size=55_000, api_name="/retrain")
    wait_for(lambda: any(u["status"] == "training" and u["step"] > 0 for u in job.outputs()) or job.done(),
             "the run to train")
    assert not job.done()
    killable["process"].send_signal(signal.SIGKILL)
    killable["process"].wait()

    port = int(url.rstrip("/").rsplit(":", 1)[1])
    killable["process"], _ = start_app(folder, killable["logs"], port)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files_under(folder) if not p.name.startswith(".")}
    assert after == saved  # every file as it was, none added (the killed run saved nothing)
    assert not [p for p in files_under(folder) if p.suffix == ".tmp"]
    # The same client (its session, so its workspace) still lists and uses its model.
    again = Client(url, verbose=False)
    again.session_hash = owner.session_hash
    result = again.predict(handle_file(digit_png(tmp_path / "0.png", "0")), kept, api_name="/predict")
    assert result["label"] == "0"
    config = json.load(urllib.request.urlopen(url + "config", timeout=30))
    assert config["components"]  # and the page loads


def test_a_visitor_who_keeps_nothing_gets_no_folder(data_dir: Path) -> None:
    """Every page load (a crawler's too) would otherwise leave an empty folder that no disk budget evicts."""
    for i in range(3):
        page = Request(session_hash=f"passer-by-{i}")
        visitors.welcome(None, None, page)
        assert not visitors.workspace_of(page).root.exists()
    assert not (data_dir / "workspaces").exists()
