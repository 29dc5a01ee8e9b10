"""Fuzz: mutated DICOM bytes give a Volume or one of samd's own errors, never anything else."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samd_core import Volume
from samd_core.errors import SamdError
from samd_core.io import read_dicom_series, write_dicom_series


def _base(transfer_syntax: str) -> list[bytes]:
    arr = np.random.default_rng(11).integers(-1000, 1500, size=(3, 8, 8)).astype(np.int16)
    with tempfile.TemporaryDirectory() as d:
        files = write_dicom_series(Volume(arr, (1.5, 0.5, 0.5)), d, transfer_syntax=transfer_syntax)
        return [f.read_bytes() for f in files]


BASES = {ts: _base(ts) for ts in ("explicit", "implicit", "rle")}

mutation = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 10**6), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(b"")),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
)


def _mutate(data: bytes, ops: list[tuple[str, int, bytes]]) -> bytes:
    buf = bytearray(data)
    for op, pos, payload in ops:
        pos %= max(len(buf), 1)
        if op == "set":
            buf[pos : pos + len(payload)] = payload
        elif op == "cut":
            del buf[pos:]
        elif op == "insert":
            buf[pos:pos] = payload
        else:
            del buf[pos : pos + len(payload)]
    return bytes(buf)


@pytest.mark.timeout(600)
@pytest.mark.verifies("SRS-IO-011")
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ts=st.sampled_from(sorted(BASES)),
    which=st.integers(0, 2),
    ops=st.lists(mutation, min_size=1, max_size=6),
)
def test_io_fuzzed_bytes_raise_only_samd_errors(ts: str, which: int, ops: list[tuple[str, int, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as d:
        for i, data in enumerate(BASES[ts]):
            Path(d, f"f{i}.dcm").write_bytes(_mutate(data, ops) if i == which else data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns about the invalid values it meets
            try:
                vol = read_dicom_series(d, max_workers=1)
            except SamdError:
                return
        assert isinstance(vol, Volume)
        assert vol.array.ndim == 3 and np.all(np.isfinite(np.asarray(vol.array, dtype=np.float64)))
