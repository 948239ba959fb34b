"""Each network has the architecture its tutorial taught: layer shapes and parameter counts."""

import pytest
import torch

from mnist_core.models import SPECS, build_model, count_parameters, one_view, rotated

# Parameter counts computed by hand from each tutorial's layer list.
EXPECTED_PARAMETERS = {
    "mlp-3x64": (784 * 64 + 64) + 2 * (64 * 64 + 64) + (64 * 10 + 10),
    "lenet5": 44_426,
    "mlp-256-64": (784 * 256 + 256) + (256 * 64 + 64) + (64 * 10 + 10),
    "cnn-10-20": (10 * 25 + 10) + (20 * 10 * 9 + 20) + (2000 * 500 + 500) + (500 * 10 + 10),
    "cnn-16-32": (16 * 25 + 16) + (32 * 16 * 25 + 32) + (1568 * 10 + 10),
}


@pytest.mark.parametrize("model_id", SPECS)
def test_forward_shape(model_id: str) -> None:
    model = build_model(model_id).eval()
    logits = model(torch.rand(3, 1, 28, 28))
    assert logits.shape == (3, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("model_id", EXPECTED_PARAMETERS)
def test_parameter_count(model_id: str) -> None:
    assert count_parameters(build_model(model_id)) == EXPECTED_PARAMETERS[model_id]


def test_lenet5_feature_maps() -> None:
    features = build_model("lenet5").features
    assert features(torch.rand(1, 1, 28, 28)).shape == (1, 16, 4, 4)


def test_cnn_10_20_flattens_2000_features() -> None:
    linear = [m for m in build_model("cnn-10-20").modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(2000, 500), (500, 10)]


def test_cnn_16_32_flattens_1568_features() -> None:
    linear = [m for m in build_model("cnn-16-32").modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(1568, 10)]


def test_mlp_256_64_output_is_not_clipped_by_relu() -> None:
    """Tutorial 002's bug: ReLU on the logits. Fixed: the last layer is linear."""
    model = build_model("mlp-256-64")
    assert isinstance(list(model.modules())[-1], torch.nn.Linear)
    torch.manual_seed(0)
    assert (model(torch.rand(64, 1, 28, 28)) < 0).any()


def test_networks_normalise_their_own_inputs() -> None:
    """Tutorials 002 and 003 were taught on normalised pixels; the networks do it themselves."""
    for model_id in ("mlp-256-64", "cnn-10-20"):
        first = list(build_model(model_id).net.children())[0]
        assert type(first).__name__ == "Normalize"


def test_unknown_model_id() -> None:
    with pytest.raises(KeyError, match="unknown model"):
        build_model("resnet-1000")


def test_our_network_answers_with_the_mean_of_three_readings_in_eval_mode() -> None:
    model = build_model("convnet-bn", seed=0).eval()
    x = torch.rand(4, 1, 28, 28)
    turn = model.TEST_TIME_ROTATION
    readings = [model.logits(x), model.logits(rotated(x, turn)), model.logits(rotated(x, -turn))]
    with torch.no_grad():
        assert torch.allclose(model(x), torch.stack(readings).mean(0), atol=1e-5)
        assert not torch.allclose(model(x), readings[0], atol=1e-3)  # the views count
        assert torch.equal(one_view(model)(x), model.logits(x))
        assert model(x[:0]).shape == (0, 10)
    model.train()  # training: one reading of each image, as it learns
    assert model(x).shape == (4, 10)
    tutorial = build_model("lenet5").eval()
    assert one_view(tutorial) is tutorial  # the tutorials' networks read each image once


def test_rotated_turns_about_the_centre() -> None:
    bar = torch.zeros(1, 1, 28, 28)
    bar[0, 0, 4:24, 13:15] = 1.0  # a vertical 1
    assert torch.allclose(rotated(bar, 0.0), bar, atol=1e-6)
    lying = rotated(bar, 90.0)[0, 0] > 0.5
    assert lying[13:15, 4:24].all() and lying.sum() == 40  # now horizontal, through the same centre
