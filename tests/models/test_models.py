"""The model zoo: shapes, the reference parameter counts, every option, and clear errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from charrec.errors import ConfigError
from charrec.models import (
    ACTIVATIONS,
    INIT_SCHEMES,
    POOLS,
    count_parameters,
    create_model,
    get_activation,
    init_weights,
    list_models,
    make_pool,
    model_info,
)
from charrec.models.layers import StridedConvPool

MODELS = list_models()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny batches: one thread is faster than two and does not fight other processes.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def modules_of(model: nn.Module, kind: type[nn.Module]) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


def dropout_rates(model: nn.Module) -> list[float]:
    return [m.p for m in modules_of(model, nn.Dropout)]


def test_the_zoo_has_the_models_people_expect():
    expected = {"chollet-mlp", "mlp", "keras-convnet", "mnist-cnn", "nielsen", "deotte"}
    assert expected <= set(MODELS)
    assert {"vgg", "resnet"} <= set(MODELS)
    for name in MODELS:
        info = model_info(name)
        assert info.name == name and info.description
        assert "init" in info.options and "activation" in info.options
    assert "99.2" in model_info("keras-convnet").reference


@pytest.mark.parametrize("num_classes", [10, 26, 47, 62])
@pytest.mark.parametrize("name", MODELS)
def test_every_model_gives_logits_for_every_class_count(name: str, num_classes: int):
    model = create_model(name, num_classes)
    logits = model(torch.randn(3, 1, 28, 28))
    assert logits.shape == (3, num_classes)
    assert logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert model.head.out_features == num_classes


# Keras counts: Conv2D (k·k·c_in + 1)·c_out, Dense (n_in + 1)·n_out, and
# BatchNormalization 4·c, of which gamma and beta (2·c) are trainable and the moving
# mean and variance (2·c) are "non-trainable params".
def keras_conv(k: int, c_in: int, c_out: int) -> int:
    return (k * k * c_in + 1) * c_out


def keras_dense(n_in: int, n_out: int) -> int:
    return (n_in + 1) * n_out


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chollet-mlp", 407_050),
        ("keras-convnet", 34_826),
        ("mnist-cnn", 1_199_882),
        ("nielsen", 1_672_570),
    ],
)
def test_reference_models_have_their_original_parameter_counts(name: str, expected: int):
    model = create_model(name, 10)
    assert count_parameters(model) == expected
    assert count_parameters(model, trainable_only=False) == expected


def test_reference_counts_follow_the_layer_arithmetic():
    # The same numbers, derived layer by layer, so a wrong constant above would show.
    assert keras_dense(784, 512) + keras_dense(512, 10) == 407_050
    assert keras_conv(3, 1, 32) + keras_conv(3, 32, 64) + keras_dense(5 * 5 * 64, 10) == 34_826
    mnist_cnn = keras_conv(3, 1, 32) + keras_conv(3, 32, 64)
    mnist_cnn += keras_dense(12 * 12 * 64, 128) + keras_dense(128, 10)
    assert mnist_cnn == 1_199_882
    nielsen = keras_conv(5, 1, 20) + keras_conv(5, 20, 40)
    nielsen += keras_dense(40 * 4 * 4, 1000) + keras_dense(1000, 1000) + keras_dense(1000, 10)
    assert nielsen == 1_672_570


def test_deotte_matches_what_keras_summary_prints():
    # 28 → 26 → 24 → 12 (5×5 stride 2 'same') → 10 → 8 → 4 → 1 (4×4): Dense sees 128.
    convs = [(3, 1, 32), (3, 32, 32), (5, 32, 32), (3, 32, 64), (3, 64, 64), (5, 64, 64)]
    convs.append((4, 64, 128))
    weights = sum(keras_conv(*c) for c in convs) + keras_dense(128, 10)
    bn_channels = 32 * 3 + 64 * 3 + 128
    keras_trainable = weights + 2 * bn_channels
    keras_non_trainable = 2 * bn_channels
    assert (weights, keras_trainable, keras_non_trainable) == (325_578, 326_410, 832)
    assert keras_trainable + keras_non_trainable == 327_242  # Keras' "Total params"

    model = create_model("deotte", 10)
    running = sum(
        b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))
    )
    assert count_parameters(model) == 326_410
    assert running == 832
    assert count_parameters(model) + running == 327_242
    assert len(modules_of(model, nn.BatchNorm2d)) == 7


def test_forward_and_backward_reach_every_parameter():
    for name in MODELS:
        model = create_model(name, 26)
        x = torch.randn(4, 1, 28, 28)
        loss = nn.functional.cross_entropy(model(x), torch.randint(0, 26, (4,)))
        loss.backward()
        for pname, p in model.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (name, pname)


@pytest.mark.parametrize("name", MODELS)
def test_models_are_deterministic_under_a_seed(name: str):
    x = torch.randn(2, 1, 28, 28)
    torch.manual_seed(7)
    a = create_model(name, 10).eval()
    torch.manual_seed(7)
    b = create_model(name, 10).eval()
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), key
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("name", MODELS)
def test_channels_last_input_gives_the_same_logits(name: str):
    torch.manual_seed(0)
    model = create_model(name, 26).eval()
    x = torch.randn(5, 1, 28, 28)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    got = model(x.to(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "elu", "tanh", "gelu"])
@pytest.mark.parametrize("name", ["keras-convnet", "mnist-cnn", "vgg"])
def test_pooling_before_the_activation_is_the_same_model(name: str, activation: str):
    # create_model moves max pools before monotonic activations for speed; the model as
    # its authors wrote it (the builder's own order) must give the same logits and grads.
    torch.manual_seed(0)
    fast = create_model(name, 10, activation=activation, dropout=0.0)
    info = model_info(name)
    options = info.resolve({"activation": activation, "dropout": 0.0})
    written = info.build(10, 1, 28, **options)
    written.load_state_dict(fast.state_dict())
    moved = [type(m) for m in fast.features] != [type(m) for m in written.features]
    assert moved == (activation != "gelu")  # gelu dips below zero: it keeps its place
    x = torch.randn(6, 1, 28, 28).mul_(3)
    y = torch.randint(0, 10, (6,))
    grads = []
    for model in (fast, written):
        model.train()
        nn.functional.cross_entropy(model(x), y).backward()
        grads.append([p.grad for p in model.parameters()])
    exact = activation == "relu"
    torch.testing.assert_close(fast(x), written(x), rtol=0 if exact else 1e-6, atol=0)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0 if exact else 1e-5, atol=0 if exact else 1e-7)


@pytest.mark.parametrize("name", MODELS)
def test_other_image_sizes_and_channels(name: str):
    model = create_model(name, 47, in_channels=3, image_size=32)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 47)


def test_too_small_images_are_refused_with_the_least_size():
    with pytest.raises(ConfigError, match=r"'deotte' needs image_size ≥ \d+, got 12"):
        create_model("deotte", 10, image_size=12)


# ---- options -----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_each_activation_is_used(activation: str):
    for name in ("mlp", "keras-convnet", "resnet"):
        model = create_model(name, 10, activation=activation)
        kind = type(get_activation(activation))
        assert modules_of(model, kind), (name, activation)
        others = [a for a in ACTIVATIONS.values() if a is not kind]
        assert not [m for m in model.modules() if type(m) in others]
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def first_linear(model: nn.Module, index: int = 0) -> nn.Linear:
    return modules_of(model, nn.Linear)[index]


def test_xavier_gives_glorot_std_and_zero_bias():
    model = create_model("mlp", 10, init="xavier")
    layer = first_linear(model)  # 784 → 512
    expected = math.sqrt(2 / (784 + 512))
    assert layer.weight.std().item() == pytest.approx(expected, rel=0.03)
    assert torch.count_nonzero(layer.bias) == 0


@pytest.mark.parametrize(
    ("activation", "gain"), [("relu", math.sqrt(2)), ("tanh", 5 / 3), ("gelu", 1.533)]
)
def test_kaiming_matches_fan_in_and_the_activation(activation: str, gain: float):
    model = create_model("mlp", 10, init="kaiming", activation=activation)
    layer = first_linear(model)
    assert layer.weight.std().item() == pytest.approx(gain / math.sqrt(784), rel=0.03)
    conv = modules_of(create_model("vgg", 10, init="kaiming", activation=activation), nn.Conv2d)
    w = conv[2].weight  # 32 → 64, 3×3: fan_in 288
    assert w.std().item() == pytest.approx(gain / math.sqrt(32 * 9), rel=0.05)


def test_kaiming_keeps_the_signal_scale_through_a_deep_relu_mlp():
    torch.manual_seed(0)
    model = create_model("mlp", 10, hidden=(256,) * 8, init="kaiming")
    h = torch.randn(512, 784)
    for layer in model.features[1:]:
        h = layer(h)
    # He init keeps E[h²] of the relu outputs equal to the input's (1) from layer to layer;
    # torch's default init shrinks it about 6× per layer.
    assert (h**2).mean().item() == pytest.approx(1.0, rel=0.3)


def test_orthogonal_gives_orthonormal_rows():
    model = create_model("mlp", 10, hidden=(128, 128, 64), init="orthogonal")
    square, wide = first_linear(model, 1).weight, first_linear(model, 2).weight
    torch.testing.assert_close(square @ square.T, torch.eye(128), atol=1e-5, rtol=0)
    torch.testing.assert_close(wide @ wide.T, torch.eye(64), atol=1e-5, rtol=0)
    conv = modules_of(create_model("keras-convnet", 10, init="orthogonal"), nn.Conv2d)[1]
    flat = conv.weight.flatten(1)  # 64 × 288
    torch.testing.assert_close(flat @ flat.T, torch.eye(64), atol=1e-5, rtol=0)


def test_default_init_is_torchs_own():
    torch.manual_seed(0)
    layer = first_linear(create_model("mlp", 10, init="default"))
    # torch's Linear: uniform(±1/sqrt(fan_in)) for weights and biases.
    assert layer.weight.std().item() == pytest.approx(1 / math.sqrt(3 * 784), rel=0.03)
    assert torch.count_nonzero(layer.bias) > 0


def test_every_init_scheme_builds_every_model():
    for scheme in INIT_SCHEMES:
        for name in MODELS:
            assert model_info(name).options["init"] in INIT_SCHEMES
            model = create_model(name, 10, init=scheme)
            assert torch.isfinite(model(torch.randn(2, 1, 28, 28))).all()


@pytest.mark.parametrize("name", MODELS)
def test_batch_norm_on_and_off(name: str):
    with_bn = create_model(name, 10, batch_norm=True)
    without = create_model(name, 10, batch_norm=False)
    assert modules_of(with_bn, nn.modules.batchnorm._BatchNorm)
    assert not modules_of(without, nn.modules.batchnorm._BatchNorm)
    assert with_bn(torch.randn(4, 1, 28, 28)).shape == (4, 10)
    default_bn = model_info(name).options["batch_norm"]
    assert default_bn == (name in ("deotte", "vgg", "resnet"))


POOL_TYPES = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d, "conv": StridedConvPool}


@pytest.mark.parametrize("name", ["keras-convnet", "mnist-cnn", "nielsen", "vgg"])
@pytest.mark.parametrize("pooling", POOLS)
def test_each_pooling_is_used(name: str, pooling: str):
    model = create_model(name, 10, pooling=pooling)
    assert modules_of(model, POOL_TYPES[pooling])
    assert not [m for k, t in POOL_TYPES.items() if k != pooling for m in modules_of(model, t)]
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    if pooling == "conv":
        extra = count_parameters(model) - count_parameters(create_model(name, 10))
        pool_params = sum(count_parameters(m) for m in modules_of(model, StridedConvPool))
        assert extra == pool_params > 0


def test_deotte_pooling_swaps_his_strided_convs_for_pools():
    assert model_info("deotte").options["pooling"] == "conv"
    pooled = create_model("deotte", 10, pooling="max")
    assert len(modules_of(pooled, nn.MaxPool2d)) == 2
    assert len(modules_of(pooled, nn.Conv2d)) == 5
    assert count_parameters(pooled) < count_parameters(create_model("deotte", 10))


@pytest.mark.parametrize("size", [5, 7, 8, 13, 14, 28])
@pytest.mark.parametrize("kind", POOLS)
def test_every_pool_halves_like_max_pooling(kind: str, size: int):
    x = torch.randn(2, 6, size, size)
    assert make_pool(kind, 6)(x).shape == (2, 6, size // 2, size // 2)


def test_dropout_none_keeps_the_recipe_and_p_replaces_every_rate():
    assert dropout_rates(create_model("mnist-cnn", 10)) == [0.25, 0.5]
    assert dropout_rates(create_model("mnist-cnn", 10, dropout=None)) == [0.25, 0.5]
    assert dropout_rates(create_model("mnist-cnn", 10, dropout=0.3)) == [0.3, 0.3]
    assert dropout_rates(create_model("nielsen", 10)) == [0.5, 0.5, 0.5]
    assert dropout_rates(create_model("deotte", 10)) == [0.4, 0.4, 0.4]
    assert dropout_rates(create_model("keras-convnet", 10)) == [0.5]
    assert dropout_rates(create_model("keras-convnet", 10, dropout=0)) == []
    assert dropout_rates(create_model("chollet-mlp", 10)) == []
    assert dropout_rates(create_model("chollet-mlp", 10, dropout=0.2)) == [0.2]
    assert dropout_rates(create_model("mlp", 10, dropout=0.1)) == [0.1, 0.1, 0.1]


def test_dropout_rate_does_not_change_the_weight_names():
    # So weights trained with dropout load into the same model built without.
    trained = create_model("nielsen", 10, dropout=0.5).state_dict()
    create_model("nielsen", 10, dropout=0.0).load_state_dict(trained)


def test_mlp_hidden_sizes():
    model = create_model("mlp", 26, hidden=(300, 200, 100, 50))
    sizes = [layer.out_features for layer in modules_of(model, nn.Linear)]
    assert sizes == [300, 200, 100, 50, 26]
    assert count_parameters(model) == sum(
        keras_dense(a, b) for a, b in zip([784, 300, 200, 100, 50], sizes, strict=True)
    )
    from_cli = create_model("mlp", 10, hidden="64, 32")
    assert [m.out_features for m in modules_of(from_cli, nn.Linear)] == [64, 32, 10]
    assert model_info("mlp").options["hidden"] == (512, 256, 128)


def test_width_and_depth():
    half = create_model("keras-convnet", 10, width=0.5)
    assert [c.out_channels for c in modules_of(half, nn.Conv2d)] == [16, 32]
    assert count_parameters(create_model("vgg", 10, width=2)) > 3 * count_parameters(
        create_model("vgg", 10)
    )
    assert len(modules_of(create_model("vgg", 10, depth=3), nn.Conv2d)) == 9
    blocks = modules_of(create_model("resnet", 10, depth=3), nn.Conv2d)
    assert len(blocks) == 1 + 3 * 3 * 2 + 2  # stem, 2 convs per block, 2 shortcuts


def test_head_can_be_swapped_for_transfer():
    model = create_model("resnet", 10)
    model.head = nn.Linear(model.head.in_features, 36)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 36)
    assert model.features(torch.randn(2, 1, 28, 28)).shape == (2, model.head.in_features)


# ---- errors ------------------------------------------------------------------------------


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="unknown model 'lenet'") as err:
        create_model("lenet", 10)
    assert all(name in str(err.value) for name in MODELS)
    with pytest.raises(ConfigError):
        model_info("lenet")


def test_an_option_the_model_lacks_names_model_option_and_valid_ones():
    with pytest.raises(ConfigError) as err:
        create_model("resnet", 10, pooling="max")
    message = str(err.value)
    assert "'resnet'" in message and "'pooling'" in message
    for option in model_info("resnet").options:
        assert option in message
    with pytest.raises(ConfigError, match="'chollet-mlp' has no option 'hidden'"):
        create_model("chollet-mlp", 10, hidden=(10, 10, 10))


@pytest.mark.parametrize(
    ("option", "value", "listed"),
    [
        ("activation", "swish", list(ACTIVATIONS)),
        ("init", "he", list(INIT_SCHEMES)),
        ("pooling", "min", list(POOLS)),
        ("batch_norm", "yes", ["true or false"]),
        ("dropout", 1.0, ["[0, 1)"]),
        ("dropout", -0.1, ["[0, 1)"]),
        ("width", 0, ["(0, 16]"]),
    ],
)
def test_a_bad_value_names_model_option_and_valid_values(option: str, value, listed: list[str]):
    with pytest.raises(ConfigError) as err:
        create_model("vgg", 10, **{option: value})
    message = str(err.value)
    assert "'vgg'" in message and option in message and repr(value) in message
    for valid in listed:
        assert valid in message


@pytest.mark.parametrize("value", [0, 2.5, True])
def test_depth_must_be_a_whole_number(value):
    with pytest.raises(ConfigError, match="depth"):
        create_model("resnet", 10, depth=value)


@pytest.mark.parametrize("value", [(), (512, 0), "a,b", 512, (64.5,)])
def test_bad_hidden_sizes(value):
    with pytest.raises(ConfigError, match="hidden"):
        create_model("mlp", 10, hidden=value)


@pytest.mark.parametrize(
    "kwargs", [{"num_classes": 0}, {"in_channels": 0}, {"image_size": 4}, {"num_classes": 2.0}]
)
def test_bad_shapes_are_config_errors(kwargs):
    args = {"name": "keras-convnet", "num_classes": 10, **kwargs}
    with pytest.raises(ConfigError):
        create_model(**args)


def test_layer_factories_refuse_unknown_names():
    with pytest.raises(ConfigError, match="relu"):
        get_activation("swish")
    with pytest.raises(ConfigError, match="orthogonal"):
        init_weights(nn.Linear(2, 2), "lecun")
    with pytest.raises(ConfigError, match="avg"):
        make_pool("min", 8)


def test_dropout_keeps_the_expected_share_scaled_up_and_is_off_in_eval():
    from charrec.models.layers import Dropout, dropout_generator

    layer = Dropout(0.3)
    x = torch.ones(200_000)
    with dropout_generator(torch.Generator().manual_seed(0)):
        y = layer(x)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.005)
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / 0.7))
    assert torch.equal(layer.eval()(x), x)


def test_dropout_draws_from_the_threads_generator_when_given():
    from charrec.models.layers import Dropout, dropout_generator

    layer = Dropout(0.5)
    x = torch.ones(1000)
    masks = []
    for _ in range(2):
        torch.manual_seed(1)
        with dropout_generator(torch.Generator().manual_seed(7)):
            masks.append(layer(x))
        after = torch.rand(1)  # the global generator was not touched
    assert torch.equal(masks[0], masks[1])
    torch.manual_seed(1)
    assert torch.equal(after, torch.rand(1))
    torch.manual_seed(1)
    plain = layer(x)
    assert not torch.equal(plain, masks[0])
    torch.manual_seed(1)  # outside the block it is torch's own dropout, draw for draw
    assert torch.equal(plain, nn.functional.dropout(x, 0.5, training=True))
