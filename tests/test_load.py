"""Load with real clients: 20 gradio_client users x 50 /predict calls while a retrain runs.

The server is our own (benchmarks/startup.py's start_app), with its user data in a temporary
folder: the retrain started here is cancelled at the end and must leave nothing in the app's
real data. benchmarks/load.py prints the latencies of the same round.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from load import drawings, run_round, start_retrain, stop_retrain, training  # noqa: E402
from startup import App, start_app  # noqa: E402

from mnist_core.retrain import MAX_EPOCHS  # noqa: E402

USERS = 20
CALLS = 50
# Our largest network for the most epochs a retrain allows, on the one core a retrain gets: tens
# of minutes on any CPU, far longer than the round, so that the round certainly runs during it
# on a fast machine too. It is cancelled after the round.
RETRAIN_ARCHITECTURE = "convnet-bn"
RETRAIN_EPOCHS = MAX_EPOCHS


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    app = start_app(tmp_path_factory.mktemp("load-data"))
    try:
        yield app
    finally:
        app.stop()


def test_twenty_users_get_every_answer_while_a_retrain_runs(own_app: App, tmp_path: Path) -> None:
    files = drawings(tmp_path)
    trainer, job = start_retrain(own_app.url, RETRAIN_EPOCHS, RETRAIN_ARCHITECTURE)
    try:
        before = training(job)
        round_ = run_round(own_app.url, files, USERS, CALLS)
        after = training(job)
    finally:
        stop_retrain(trainer, job)
    print(f"\n{round_.summary()}")

    assert round_.errors == [], f"{len(round_.errors)} errors, e.g. {round_.errors[:5]}"
    assert len(round_.latencies_s) == USERS * CALLS
    assert after, "the retrain should still be training when the last prediction is answered"
    assert after["step"] > before["step"], "the retrain should have trained during the round"
