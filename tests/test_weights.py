"""Weights files: safetensors round trip, clear errors, and the shipped files' accuracy."""

from pathlib import Path

import pytest
import torch

from mnist_core import SPECS, WeightsError, build_model, list_models, load_model, model_info
from mnist_core.data import load_split
from mnist_core.evaluate import accuracy
from mnist_core.models import Recipe
from mnist_core.registry import load_model as load_from
from mnist_core.weights import WEIGHTS_DIR, load_weights, read_metadata, save_weights


def test_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("lenet5")
    path = tmp_path / "lenet5.safetensors"
    save_weights(model, path, {"id": "lenet5", "val_accuracy": 0.5, "recipe": {"lr": 0.001}})
    loaded = load_from("lenet5", weights_dir=tmp_path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    assert not loaded.training
    assert read_metadata(path) == {"id": "lenet5", "val_accuracy": 0.5, "recipe": {"lr": 0.001}}
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed, not left behind"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"not found: .*lenet5\.safetensors"):
        load_from("lenet5", weights_dir=tmp_path)


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lenet5.safetensors"
    save_weights(build_model("lenet5"), path, {"id": "lenet5"})
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="lenet5.safetensors"):
        load_from("lenet5", weights_dir=tmp_path)


def test_garbage_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lenet5.safetensors"
    path.write_bytes(b"\x80\x04\x95 this is a pickle, not safetensors")
    with pytest.raises(WeightsError, match="lenet5.safetensors"):
        load_from("lenet5", weights_dir=tmp_path)


def test_mismatched_architecture_names_the_file(tmp_path: Path) -> None:
    save_weights(build_model("mlp-3x64"), tmp_path / "lenet5.safetensors", {"id": "lenet5"})
    with pytest.raises(WeightsError, match=r"lenet5\.safetensors does not fit LeNet5"):
        load_from("lenet5", weights_dir=tmp_path)


def test_file_of_another_model_is_refused(tmp_path: Path) -> None:
    save_weights(build_model("lenet5"), tmp_path / "lenet5.safetensors", {"id": "something-else"})
    with pytest.raises(WeightsError, match="holds model 'something-else'"):
        load_from("lenet5", weights_dir=tmp_path)


def test_load_weights_is_strict(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    save_weights(build_model("cnn-16-32"), path, {})
    with pytest.raises(WeightsError):
        load_weights(build_model("cnn-10-20"), path)


def test_every_network_ships_weights() -> None:
    assert list_models() == list(SPECS)


def test_shipped_weights_size_limits() -> None:
    sizes = {p.name: p.stat().st_size for p in WEIGHTS_DIR.glob("*.safetensors")}
    assert sizes and sum(sizes.values()) < 25e6
    assert max(sizes.values()) < 10e6, sizes


@pytest.fixture(scope="module")
def mnist_test_set() -> tuple[torch.Tensor, torch.Tensor]:
    return load_split(train=False)


@pytest.mark.parametrize("model_id", list_models())
def test_shipped_weights_reach_recorded_test_accuracy(model_id: str, mnist_test_set) -> None:
    info = model_info(model_id)
    for key in ("id", "architecture", "recipe", "val_accuracy", "test_accuracy", "torch", "date", "seed"):
        assert key in info, key
    measured = accuracy(load_model(model_id), *mnist_test_set)
    assert measured == pytest.approx(info["test_accuracy"], abs=0.001)


@pytest.mark.parametrize("model_id", list(SPECS))
def test_shipped_weights_record_the_recipe_that_trains_them(model_id: str) -> None:
    """`python -m mnist_core.train --model ID` trains with SPECS[ID].recipe: the shipped file was made so."""
    recorded = Recipe(**model_info(model_id)["recipe"])  # fields added later take their defaults
    assert recorded == SPECS[model_id].recipe
