"""Networks: shapes, gradients, determinism (in and across processes), configs, weights I/O."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from samd_core.errors import InvalidParameterError
from samd_core.models import (
    AttentionUNet,
    AttentionUNetConfig,
    ResNet,
    ResNetConfig,
    UNet,
    UNetConfig,
    WeightsError,
    build_network,
    config_from_dict,
    load_weights,
    save_weights,
)

ROOT = Path(__file__).resolve().parents[2]

# name -> (config, input shape, expected output shape)
CASES = {
    "unet2d": (UNetConfig(spatial_dims=2, in_channels=2, out_channels=3, channels=(4, 8, 16)), (2, 2, 32, 24), (2, 3, 32, 24)),
    "unet3d": (UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16)), (1, 1, 16, 16, 8), (1, 2, 16, 16, 8)),
    "unet3d_residual_strided": (
        UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16), strides=(2, 2, 1),
                   residual=True, downsample="strided", act="prelu", norm="batch"),
        (2, 1, 16, 8, 8), (2, 2, 16, 8, 8),
    ),
    "unet3d_anisotropic": (
        UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16),
                   strides=((1, 1, 1), (1, 2, 2), (2, 2, 2)), kernel_sizes=((1, 3, 3), (1, 3, 3), (3, 3, 3))),
        (1, 1, 6, 16, 16), (1, 2, 6, 16, 16),
    ),
    "attention_unet2d": (AttentionUNetConfig(spatial_dims=2, in_channels=1, out_channels=2, channels=(4, 8, 16)), (2, 1, 16, 16), (2, 2, 16, 16)),
    "attention_unet3d": (
        AttentionUNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8), residual=True),
        (1, 1, 8, 8, 8), (1, 2, 8, 8, 8),
    ),
    "resnet2d": (ResNetConfig(spatial_dims=2, in_channels=3, num_classes=4, channels=(8, 16), blocks=(1, 1), stem_channels=8), (2, 3, 32, 32), (2, 4)),
    "resnet3d": (
        ResNetConfig(spatial_dims=3, in_channels=1, num_classes=2, channels=(4, 8), blocks=(1, 2), stem_channels=4, norm="instance"),
        (2, 1, 16, 16, 16), (2, 2),
    ),
}


def _input(shape: tuple[int, ...]) -> torch.Tensor:
    g = torch.Generator().manual_seed(123)
    return torch.randn(shape, generator=g)


def _output_sha(name: str) -> str:
    cfg, shape, _ = CASES[name]
    net = build_network(cfg, rng=7).eval()
    with torch.no_grad():
        y = net(_input(shape))
    return hashlib.sha256(y.numpy().tobytes()).hexdigest()


@pytest.mark.verifies("SRS-MODELS-001")
@pytest.mark.parametrize("name", sorted(CASES))
def test_models_output_shape(name: str) -> None:
    cfg, shape, out_shape = CASES[name]
    net = build_network(cfg)
    net.eval()
    with torch.no_grad():
        assert tuple(net(_input(shape)).shape) == out_shape


@pytest.mark.verifies("SRS-MODELS-001")
@pytest.mark.parametrize("name", sorted(CASES))
def test_models_gradients_reach_every_parameter(name: str) -> None:
    cfg, shape, _ = CASES[name]
    net = build_network(cfg).train()
    net(_input(shape)).square().mean().backward()
    for pname, p in net.named_parameters():
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname


@pytest.mark.verifies("SRS-MODELS-002")
@pytest.mark.parametrize("name", sorted(CASES))
def test_models_same_seed_same_bytes_and_other_seed_differs(name: str) -> None:
    cfg, shape, _ = CASES[name]
    assert _output_sha(name) == _output_sha(name)
    a = build_network(cfg, rng=7).state_dict()
    b = build_network(cfg, rng=8).state_dict()
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].dtype.is_floating_point and a[k].numel() > 1)


@pytest.mark.verifies("SRS-MODELS-002")
def test_models_output_bytes_identical_across_processes() -> None:
    code = (
        "import json, sys, torch; torch.set_num_threads(1); sys.path.insert(0, sys.argv[1]);"
        "from tests.models.test_models_networks import CASES, _output_sha;"
        "print(json.dumps({n: _output_sha(n) for n in sorted(CASES)}))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True, cwd=ROOT)
    other_process = json.loads(run.stdout.strip().splitlines()[-1])
    assert other_process == {n: _output_sha(n) for n in sorted(CASES)}


@pytest.mark.verifies("SRS-MODELS-003")
@pytest.mark.parametrize("name", sorted(CASES))
def test_models_config_round_trips_through_json(name: str) -> None:
    cfg, shape, _ = CASES[name]
    data = json.loads(cfg.to_json())
    again = config_from_dict(data)
    assert again == cfg and again.sha256() == cfg.sha256()
    net1 = build_network(data, rng=3).eval()
    net2 = type(net1).from_config(net1.config.to_dict(), rng=3).eval()
    assert net2.config == cfg
    x = _input(shape)
    with torch.no_grad():
        assert torch.equal(net1(x), net2(x))


@pytest.mark.verifies("SRS-MODELS-003")
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"architecture": "unet", "spatial_dims": 4, "in_channels": 1, "out_channels": 2}, "spatial_dims"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 0, "out_channels": 2}, "in_channels"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [8]}, "channels"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "norm": "instanse"}, "norm"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "strides": [1, 2]}, "strides"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "kernel_sizes": 2}, "kernel_sizes"),
        ({"architecture": "unet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "chanels": [8, 16]}, "key"),
        ({"architecture": "unnet", "spatial_dims": 3}, "architecture"),
        ({"architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2, "blocks": [1]}, "blocks"),
        ({"architecture": "resnet", "spatial_dims": 2, "in_channels": 1, "num_classes": 2, "dropout": 1.5}, "dropout"),
    ],
)
def test_models_bad_config_names_the_field(data: dict, field: str) -> None:
    with pytest.raises(InvalidParameterError) as err:
        config_from_dict(data)
    assert err.value.field == field
    assert f"`{field}`" in str(err.value)


def test_models_bad_config_suggests_option() -> None:
    with pytest.raises(InvalidParameterError, match="did you mean 'instance'"):
        UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, norm="instanse")


def test_models_forward_rejects_indivisible_and_wrong_channels() -> None:
    net = UNet(UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16)))
    with pytest.raises(InvalidParameterError, match="divisible by"):
        net(torch.zeros(1, 1, 10, 16, 16))
    with pytest.raises(InvalidParameterError, match="x.shape"):
        net(torch.zeros(1, 2, 16, 16, 16))
    with pytest.raises(InvalidParameterError, match="config"):
        AttentionUNet(UNetConfig(spatial_dims=3, in_channels=1, out_channels=2))
    with pytest.raises(InvalidParameterError, match="x.shape"):
        ResNet(ResNetConfig(spatial_dims=2, in_channels=1, num_classes=2))(torch.zeros(1, 1, 8, 8, 8))


def test_models_maxpool_unet_matches_ronneberger_layout() -> None:
    """Classic layout: two 3x3x3 convs per stage, pooling between stages, skip concatenation."""
    cfg = UNetConfig(spatial_dims=3, in_channels=1, out_channels=2, channels=(4, 8, 16))
    net = UNet(cfg)
    convs = [m for m in net.encoder[0].modules() if isinstance(m, torch.nn.Conv3d)]
    assert [tuple(c.kernel_size) for c in convs] == [(3, 3, 3), (3, 3, 3)]
    assert isinstance(net.encoder[1][0], torch.nn.MaxPool3d)
    assert net.decoder[0].convs[0][0].in_channels == 8  # 4 (skip) + 4 (upsampled)
    assert isinstance(net.upsample[0], torch.nn.ConvTranspose3d)


@pytest.mark.verifies("SRS-MODELS-004")
def test_models_weights_round_trip(tmp_path: Path) -> None:
    cfg = CASES["unet3d"][0]
    a, b = build_network(cfg, rng=1), build_network(cfg, rng=2)
    save_weights(a, tmp_path / "w.safetensors", metadata={"note": "test"})
    report = load_weights(b, tmp_path / "w.safetensors")
    assert not report.missing and not report.unexpected and not report.mismatched
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert b"pickle" not in (tmp_path / "w.safetensors").read_bytes()[:64]


@pytest.mark.verifies("SRS-MODELS-004")
def test_models_pretrained_transfer_reports_mismatch(tmp_path: Path) -> None:
    src = build_network(ResNetConfig(spatial_dims=2, in_channels=3, num_classes=10, channels=(8, 16), blocks=(1, 1), stem_channels=8))
    save_weights(src, tmp_path / "pre.safetensors")
    dst = build_network(ResNetConfig(spatial_dims=2, in_channels=3, num_classes=2, channels=(8, 16), blocks=(1, 1), stem_channels=8), rng=5)
    with pytest.raises(WeightsError, match=r"shape mismatch: fc.bias file \[10\] vs network \[2\], fc.weight file \[10, 16\] vs network \[2, 16\]"):
        load_weights(dst, tmp_path / "pre.safetensors")
    report = load_weights(dst, tmp_path / "pre.safetensors", exclude=["fc."])
    assert report.skipped == ("fc.bias", "fc.weight")
    assert torch.equal(dst.state_dict()["stem.0.0.weight"], src.state_dict()["stem.0.0.weight"])
    lax = load_weights(dst, tmp_path / "pre.safetensors", strict=False)
    assert [m[0] for m in lax.mismatched] == ["fc.bias", "fc.weight"]


def test_models_weights_missing_unexpected_and_rename(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    net = build_network(CASES["unet2d"][0])
    state = {"module." + k: v.clone() for k, v in net.state_dict().items()}
    state["module.extra.weight"] = torch.zeros(3)
    del state["module.head.bias"]
    save_file(state, str(tmp_path / "w.safetensors"))
    with pytest.raises(WeightsError) as err:
        load_weights(net, tmp_path / "w.safetensors", rename={"module.": ""})
    assert "missing from file (1): head.bias" in str(err.value)
    assert "unexpected in file (1): extra.weight" in str(err.value)
    with pytest.raises(InvalidParameterError, match="`path`"):
        load_weights(net, tmp_path / "nope.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="readable safetensors"):
        load_weights(net, tmp_path / "bad.safetensors")


def test_models_init_does_not_touch_global_rng() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state().clone()
    build_network(CASES["unet3d"][0], rng=11)
    assert torch.equal(before, torch.get_rng_state())
