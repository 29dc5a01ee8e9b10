"""Property tests of the manifest (SRS-BUNDLE-002): any content verifies; any single flipped bit is refused."""

from __future__ import annotations

import pathlib
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samd_core.bundle import BundleIntegrityError, read_verified_files, write_manifest

names = st.from_regex(r"[a-z]{1,8}(/[a-z]{1,8})?\.(json|bin|md)", fullmatch=True)
files = st.dictionaries(names, st.binary(min_size=1, max_size=64), min_size=1, max_size=5).filter(
    # a name cannot be both a file and a directory
    lambda d: not any(a != b and b.startswith(a.rsplit(".", 1)[0] + "/") for a in d for b in d)
    and not any(a.split("/")[0] == b.rsplit(".", 1)[0] or a.split("/")[0] == b for a in d for b in d if "/" in a)
)


def _write(root: pathlib.Path, content: dict[str, bytes]) -> None:
    for name, data in content.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


@pytest.mark.verifies("SRS-BUNDLE-002")
@settings(max_examples=40)
@given(content=files, pick=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_roundtrip_and_any_bit_flip_refused(content: dict[str, bytes], pick: int, bit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        _write(root, content)
        write_manifest(root)
        got, signed, _ = read_verified_files(root, public_key=None, require_signature=False)
        assert got == content and not signed
        name = sorted(content)[pick % len(content)]
        data = bytearray(content[name])
        data[pick % len(data)] ^= 1 << bit
        (root / name).write_bytes(bytes(data))
        with pytest.raises(BundleIntegrityError) as err:
            read_verified_files(root, public_key=None, require_signature=False)
        assert err.value.file == name and err.value.kind == "hash_mismatch"
