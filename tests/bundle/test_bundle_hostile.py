"""Hostile and careless bundle content ends in a clear `BundleIntegrityError`, fast and bounded (issue #18).

Every case edits one file of a valid bundle, re-writes a consistent manifest (so that only the
content checks can catch it) and expects a refusal naming the file (and the field). Resource
cases run in a subprocess under ``RLIMIT_AS`` = 2 GiB with a timeout.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from samd_core import load_locked
from samd_core.bundle import BundleIntegrityError, PredictionError, write_manifest
from samd_core.bundle._manifest import canonical_json
from tests.bundle._factory import make_bundle, small_volume

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return make_bundle(tmp_path_factory.mktemp("h") / "bundle", reference=False)


@pytest.fixture
def bundle(built: pathlib.Path, tmp_path: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(shutil.copytree(built, tmp_path / "bundle"))


def _edit_json(name: str, key: str, value: Any) -> Callable[[pathlib.Path], None]:
    def edit(b: pathlib.Path) -> None:
        doc = json.loads((b / name).read_text())
        doc[key] = value
        (b / name).write_text(json.dumps(doc))  # NaN / Infinity written as the JSON5 literals json emits

    return edit


# (file, key, value): every setting of inference.json, preprocessing.json, network.json, bundle.json
SETTINGS: list[tuple[str, str, Any]] = [
    ("inference.json", "roi_size", [16.5, 16, 16]),
    ("inference.json", "roi_size", [8000, 8000, 8000]),
    ("inference.json", "roi_size", [0, 16, 16]),
    ("inference.json", "roi_size", [True, 16, 16]),
    ("inference.json", "roi_size", [16, 16]),
    ("inference.json", "roi_size", "16"),
    ("inference.json", "roi_size", None),
    ("inference.json", "roi_size", [15, 16, 16]),  # not a multiple of the network's divisor
    ("inference.json", "overlap", None),
    ("inference.json", "overlap", float("nan")),
    ("inference.json", "overlap", -0.1),
    ("inference.json", "overlap", 1.0),
    ("inference.json", "overlap", True),
    ("inference.json", "overlap", "0.25"),
    ("inference.json", "voxel_threshold", float("nan")),
    ("inference.json", "voxel_threshold", 1.5),
    ("inference.json", "voxel_threshold", True),
    ("inference.json", "voxel_threshold", None),
    ("inference.json", "case_threshold", float("nan")),
    ("inference.json", "case_threshold", float("inf")),
    ("inference.json", "case_threshold", -1.0),
    ("inference.json", "case_threshold", 2.0),
    ("inference.json", "case_threshold", False),
    ("inference.json", "case_threshold", None),
    ("inference.json", "output_classes", ["only"]),
    ("inference.json", "output_classes", [1, 2]),
    ("inference.json", "output_classes", "ab"),
    ("inference.json", "activation", "softmax"),
    ("inference.json", "activation", None),
    ("inference.json", "case_score_rule", "max_prob"),
    ("inference.json", "case_score_rule", None),
    ("inference.json", "min_lesion_volume_mm3", -1.0),
    ("inference.json", "min_lesion_volume_mm3", float("nan")),
    ("inference.json", "min_lesion_volume_mm3", True),
    ("inference.json", "blend_mode", "median"),
    ("inference.json", "blend_mode", 1),
    ("inference.json", "unknown_key", 1),
    ("preprocessing.json", "target_spacing_mm", [0.0, 1.5, 1.5]),
    ("preprocessing.json", "target_spacing_mm", [float("nan"), 1.5, 1.5]),
    ("preprocessing.json", "target_spacing_mm", [1e-9, 1.5, 1.5]),
    ("preprocessing.json", "target_spacing_mm", [1.5, 1.5]),
    ("preprocessing.json", "target_spacing_mm", [True, 1.5, 1.5]),
    ("preprocessing.json", "target_spacing_mm", None),
    ("preprocessing.json", "clip_hu", [400.0, -1000.0]),
    ("preprocessing.json", "clip_hu", [float("nan"), 400.0]),
    ("preprocessing.json", "clip_hu", "wide"),
    ("preprocessing.json", "offset_hu", float("nan")),
    ("preprocessing.json", "offset_hu", None),
    ("preprocessing.json", "offset_hu", True),
    ("preprocessing.json", "scale_hu", 0.0),
    ("preprocessing.json", "scale_hu", -700.0),
    ("preprocessing.json", "scale_hu", float("inf")),
    ("preprocessing.json", "kind", "resample/v9"),
    ("network.json", "channels", [100_000, 8]),
    ("network.json", "channels", [4] * 40),
    ("network.json", "in_channels", 100_000),
    ("network.json", "spatial_dims", True),
    ("network.json", "out_channels", 3),
    ("network.json", "architecture", "evil"),
    ("network.json", "norm", None),
    ("bundle.json", "name", 5),
    ("bundle.json", "version", None),
    ("bundle.json", "surprise", "x"),
    ("bundle.json", "format", "samd-bundle/0"),
    ("bundle.json", "intended_use", None),
    ("bundle.json", "core_version", 1),
    ("bundle.json", "core_fingerprint", 5),
    ("bundle.json", "training_data_manifest_sha256", ["x"]),
    ("bundle.json", "input_domain", {"dims": 4}),
    ("bundle.json", "input_domain", {"slice_thickness_mm": [5, 1]}),
    ("bundle.json", "input_domain", {"modality": "CT"}),
    ("bundle.json", "input_domain", {"spacing_mm": [[1, float("nan")]] * 3}),
    ("bundle.json", "input_domain", {"colour": True}),
]


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize(("name", "key", "value"), SETTINGS, ids=[f"{n}:{k}={v!r}" for n, k, v in SETTINGS])
def test_every_setting_is_type_and_range_checked(bundle: pathlib.Path, name: str, key: str, value: Any) -> None:
    _edit_json(name, key, value)(bundle)
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    assert err.value.kind == "content", err.value
    assert err.value.file == name
    assert name in str(err.value)
    assert "\n" not in str(err.value)


def _raw(name: str, data: bytes) -> Callable[[pathlib.Path], None]:
    def edit(b: pathlib.Path) -> None:
        (b / name).write_bytes(data)

    return edit


RAW: list[tuple[str, bytes, str]] = [
    ("model_card.md", "# card\n".encode() + b"\xff\xfe latin-1 \xe9\n", "UTF-8"),
    ("inference.json", b'{"overlap": 0.25, \xff}', "UTF-8"),
    ("network.json", b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ("inference.json", b'{"overlap": 0.25, "overlap": 0.5}', "duplicate key"),
    ("preprocessing.json", b'{"offset_hu": NaN}', "non-finite"),
    ("bundle.json", b"", "JSON"),
]


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize(("name", "data", "match"), RAW, ids=[f"{n}:{m}" for n, _, m in RAW])
def test_undecodable_text_files(bundle: pathlib.Path, name: str, data: bytes, match: str) -> None:
    _raw(name, data)(bundle)
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError, match=match) as err:
        load_locked(bundle)
    assert err.value.kind == "content" and err.value.file == name


def _weights(transform: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> Callable[[pathlib.Path], None]:
    def edit(b: pathlib.Path) -> None:
        state = st_load((b / "weights.safetensors").read_bytes())
        (b / "weights.safetensors").write_bytes(st_save(transform(dict(state))))

    return edit


def _first(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    def tr(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        k = sorted(state)[0]
        state[k] = fn(state[k])
        return state

    return tr


def _nan(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[0] = float("nan")
    return t


def _inf(t: torch.Tensor) -> torch.Tensor:
    t = t.clone()
    t.view(-1)[-1] = float("-inf")
    return t


WEIGHTS: list[tuple[str, Callable[[pathlib.Path], None], str]] = [
    ("float16", _weights(lambda s: {k: v.half() for k, v in s.items()}), "float32"),
    ("int8", _weights(lambda s: {k: v.to(torch.int8) for k, v in s.items()}), "float32"),
    ("float64", _weights(lambda s: {k: v.double() for k, v in s.items()}), "float32"),
    ("nan", _weights(_first(_nan)), "non-finite"),
    ("inf", _weights(_first(_inf)), "non-finite"),
    ("shape", _weights(_first(lambda t: t.reshape(-1))), "shape"),
    ("missing", _weights(lambda s: {k: v for k, v in sorted(s.items())[1:]}), "missing"),
    ("extra", _weights(lambda s: {**s, "evil": torch.zeros(1)}), "unexpected"),
    ("header-length", _raw("weights.safetensors", (2**62).to_bytes(8, "little") + b"{}"), "header"),
    ("short", _raw("weights.safetensors", b"\x01"), "short"),
]


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize(("case", "edit", "match"), WEIGHTS, ids=[w[0] for w in WEIGHTS])
def test_weights_checked_against_network_before_building(
    bundle: pathlib.Path, case: str, edit: Callable[[pathlib.Path], None], match: str
) -> None:
    edit(bundle)
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError, match=match) as err:
        load_locked(bundle)
    assert err.value.file == "weights.safetensors"
    assert err.value.kind in ("content", "too_large")


def _add_entry(b: pathlib.Path, name: str) -> None:
    m = json.loads((b / "manifest.json").read_text())
    m["files"][name] = "0" * 64
    (b / "manifest.json").write_bytes(canonical_json(m))


def _symlink_devzero(b: pathlib.Path) -> str:
    (b / "zero.bin").symlink_to("/dev/zero")
    return "zero.bin"


def _fifo(b: pathlib.Path) -> str:
    os.mkfifo(b / "pipe.bin")
    return "pipe.bin"


def _directory(b: pathlib.Path) -> str:
    (b / "sub").mkdir()
    return "sub"


def _symlink_inside(b: pathlib.Path) -> str:
    (b / "alias.json").symlink_to(b / "network.json")
    return "alias.json"


def _symlink_dir(b: pathlib.Path) -> str:
    (b / "linked").symlink_to("/etc", target_is_directory=True)
    return "linked/hostname"


ENTRIES: list[tuple[str, Callable[[pathlib.Path], str], tuple[str, ...]]] = [
    ("symlink-to-dev-zero", _symlink_devzero, ("not_regular",)),
    ("fifo", _fifo, ("not_regular",)),
    ("directory", _directory, ("not_regular",)),
    ("symlink-inside", _symlink_inside, ("not_regular",)),
    ("symlinked-directory", _symlink_dir, ("not_regular",)),
    ("dotdot", lambda b: "../outside.json", ("path",)),
    ("dotdot-inner", lambda b: "reference/../../x", ("path",)),
    ("absolute", lambda b: "/etc/hostname", ("path",)),
    ("empty-part", lambda b: "a//b", ("path",)),
    ("dot", lambda b: "./network.json", ("path",)),
    ("backslash", lambda b: "..\\x", ("path",)),
]


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize(("case", "make", "kinds"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_only_regular_files_strictly_inside(
    bundle: pathlib.Path, case: str, make: Callable[[pathlib.Path], str], kinds: tuple[str, ...]
) -> None:
    _add_entry(bundle, make(bundle))
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    assert err.value.kind in kinds, err.value
    assert "\n" not in str(err.value)


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize("special", ["fifo", "devzero"])
def test_manifest_itself_must_be_regular(bundle: pathlib.Path, special: str) -> None:
    (bundle / "manifest.json").unlink()
    if special == "fifo":
        os.mkfifo(bundle / "manifest.json")
    else:
        (bundle / "manifest.json").symlink_to("/dev/zero")
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    assert err.value.kind == "not_regular"


@pytest.mark.verifies("SRS-BUNDLE-007")
def test_oversized_files_refused_before_reading(bundle: pathlib.Path) -> None:
    # weights: limit from the network's parameter count; text: 4 MiB
    with open(bundle / "weights.safetensors", "ab") as fh:
        fh.truncate(64 << 20)
    with open(bundle / "model_card.md", "ab") as fh:
        fh.truncate(5 << 20)
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    assert err.value.kind == "too_large" and err.value.file == "model_card.md"
    (bundle / "model_card.md").write_text("# ok\n")
    write_manifest(bundle)
    with pytest.raises(BundleIntegrityError) as err:
        load_locked(bundle)
    assert err.value.kind == "too_large" and err.value.file == "weights.safetensors"
    assert int(err.value.expected or 0) < 1 << 20  # tiny network: well under a megabyte


@pytest.mark.verifies("SRS-BUNDLE-008")
def test_non_finite_output_is_an_error_never_a_negative(bundle: pathlib.Path) -> None:
    # finite but huge weights overflow to inf/NaN inside the network
    _weights(lambda s: {k: torch.full_like(v, 3e38) for k, v in s.items()})(bundle)
    write_manifest(bundle)
    model = load_locked(bundle)
    with pytest.raises(PredictionError, match="non-finite"):
        model.predict(small_volume(0))


_LIMITED = textwrap.dedent(
    """
    import json, pathlib, resource, shutil, sys
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    import numpy as np
    from samd_core import Volume, load_locked
    from samd_core.bundle import write_manifest
    from samd_core.errors import SamdError
    b = pathlib.Path(sys.argv[1])
    case = sys.argv[2]
    try:
        if case == "predict-huge-grid":
            model = load_locked(b)
            vol = Volume(np.zeros((4, 4, 4), np.int16), (1000.0, 1000.0, 1000.0))
            model.predict(vol)
        else:
            load_locked(b)
    except SamdError as exc:
        print("REFUSED", type(exc).__name__, str(exc).splitlines()[0][:300])
        sys.exit(0)
    print("ACCEPTED")
    sys.exit(3)
    """
)


def _prepare(b: pathlib.Path, case: str) -> None:
    if case == "channels-1e5":
        _edit_json("network.json", "channels", [100_000, 8])(b)
        write_manifest(b)
    elif case == "roi-8000":
        _edit_json("inference.json", "roi_size", [8000, 8000, 8000])(b)
        write_manifest(b)
    elif case == "roi-1024-wide":
        _edit_json("network.json", "channels", [2048, 2048])(b)
        _edit_json("inference.json", "roi_size", [1024, 1024, 1024])(b)
        write_manifest(b)
    elif case == "dev-zero":
        _add_entry(b, _symlink_devzero(b))
    elif case == "fifo":
        _add_entry(b, _fifo(b))
    elif case == "predict-huge-grid":
        _edit_json("preprocessing.json", "target_spacing_mm", [0.01, 0.01, 0.01])(b)
        write_manifest(b)


@pytest.mark.verifies("SRS-BUNDLE-007")
@pytest.mark.parametrize("case", ["channels-1e5", "roi-8000", "roi-1024-wide", "dev-zero", "fifo", "predict-huge-grid"])
def test_resource_attacks_end_in_a_clear_error_under_2gib(bundle: pathlib.Path, case: str) -> None:
    _prepare(bundle, case)
    res = subprocess.run(
        [sys.executable, "-c", _LIMITED, str(bundle), case],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert res.returncode == 0, (res.stdout, res.stderr[-2000:])
    assert res.stdout.startswith("REFUSED"), res.stdout
    assert "Traceback" not in res.stderr


def test_settings_table_covers_every_key() -> None:
    from samd_core.bundle._locked import _META_KEYS, _OPTIONAL_META_KEYS
    from samd_core.bundle._settings import _KEYS
    from tests.bundle._factory import NETWORK, PREPROCESSING

    covered = {(n, k) for n, k, _ in SETTINGS}
    for name, keys in (
        ("inference.json", _KEYS),
        ("preprocessing.json", set(PREPROCESSING)),
        ("network.json", set(NETWORK)),
        ("bundle.json", _META_KEYS | _OPTIONAL_META_KEYS),
    ):
        assert not {k for k in keys if (name, k) not in covered}, name


@pytest.mark.verifies("SRS-BUNDLE-007")
def test_write_bundle_refuses_cast_weights_and_is_atomic(tmp_path: pathlib.Path) -> None:
    from samd_core import Volume
    from samd_core.bundle import build_bundle_network
    from samd_core.errors import SamdError
    from tests.bundle._factory import NETWORK

    half = {k: v.half() for k, v in build_bundle_network(NETWORK).state_dict().items()}
    with pytest.raises(BundleIntegrityError, match="float32"):
        make_bundle(tmp_path / "f16", state_dict=half)
    assert not (tmp_path / "f16").exists()
    flat = Volume(np.zeros((20, 22), np.int16), (1.0, 1.0))  # 2-D: predict refuses it while writing goldens
    with pytest.raises(SamdError):
        make_bundle(tmp_path / "half-written", reference_inputs={"c0": small_volume(0), "c1": flat})
    assert sorted(p.name for p in tmp_path.iterdir()) == []


_NAME_BASE = pathlib.Path(__import__("tempfile").mkdtemp(prefix="samd-names-"))


@pytest.mark.verifies("SRS-BUNDLE-007")
def test_any_manifest_name_stays_inside_or_is_refused() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from samd_core.bundle._manifest import _check_name

    @given(st.text(alphabet=st.sampled_from(["a", "b", ".", "/", "\\", "\0", "~", " "]), min_size=1, max_size=24))
    def check(name: str) -> None:
        try:
            out = _check_name(_NAME_BASE, name)
        except BundleIntegrityError as exc:
            assert exc.kind in ("path", "not_regular")
            return
        full = os.path.normpath(os.path.join(_NAME_BASE, out))
        assert full.startswith(str(_NAME_BASE) + os.sep)
        assert ".." not in pathlib.PurePosixPath(out).parts and "\\" not in out and "\0" not in out

    check()
