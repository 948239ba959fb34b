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
from load import drawings, run_round, start_retrain, training  # noqa: E402
from startup import App, start_app  # noqa: E402

USERS = 20
CALLS = 50
RETRAIN_EPOCHS = 3  # several minutes: it outlasts the round, and is cancelled after it


@pytest.fixture(scope="module")
def own_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    app = start_app(tmp_path_factory.mktemp("load-data"))
    try:
        yield app
    finally:
        app.stop()


def test_twenty_users_get_every_answer_while_a_retrain_runs(own_app: App, tmp_path: Path) -> None:
    files = drawings(tmp_path)
    trainer, job = start_retrain(own_app.url, RETRAIN_EPOCHS)
    try:
        round_ = run_round(own_app.url, files, USERS, CALLS)
        still_training = training(job)
    finally:
        job.cancel()
        trainer.close()
    print(f"\n{round_.summary()}")

    assert round_.errors == [], f"{len(round_.errors)} errors, e.g. {round_.errors[:5]}"
    assert len(round_.latencies_s) == USERS * CALLS
    assert still_training, "the retrain should still be training when the last prediction is answered"
