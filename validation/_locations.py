"""Where a test case's files are: a path on a mounted file system, or any fsspec URL.

A manifest path column holds either a file-system path (absolute, or relative to the manifest's
folder) or an absolute URL that `fsspec <https://filesystem-spec.readthedocs.io/>`_ opens:
``file:///data/ct/case01``, ``s3://bucket/ct/case01/`` (with ``s3fs`` installed),
``gs://...`` (``gcsfs``), ``az://...`` (``adlfs``), ``https://...`` (``aiohttp``), or a chained
URL such as ``zip://case01::file:///data/testset.zip``. The locked core reads only local paths
(`samd_core.predict_file.read_input`, the input path a product uses), so a URL is *staged*: its
file, or every file under it (a DICOM series folder), is copied into a private temporary folder
under the same name, hashed there exactly as a local path is (`samd_core.hashing.sha256_file`,
`samd_core.hashing.sha256_tree`), and removed after use. Given the manifest's SHA-256, a staged
copy whose hash differs is refused before it is read, so the bytes the device sees are the bytes
the protocol locked even when the store changed after the run's pre-check.

This module imports only the standard library, `samd_core` and `validation.errors` (fsspec, and
aiohttp for HTTP, when a URL is met), so Dask workers can use it (`validation._casework`).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from validation.errors import LocationError

__all__ = ["MAX_LISTING_BYTES", "MAX_STAGED_BYTES", "MAX_STAGED_FILES", "is_url", "location_sha256", "shown", "staged"]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_USERINFO = re.compile(r"(://)[^/@]*@")
_PASSWORD = re.compile(r"://[^/@:]*:[^/@]*@")


def is_url(location: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` text (an fsspec URL); False for a file-system path."""
    return isinstance(location, str) and bool(_URL.match(location))


def shown(location: str | os.PathLike[str]) -> str:
    """``location`` as it may appear in a message or log: a URL without ``user:password@``, query
    string or fragment (signed URLs carry their token there); a path unchanged."""
    text = os.fspath(location)
    if not is_url(text):
        return text
    text = _USERINFO.sub(r"\1", text)
    return re.split(r"[?#]", text, maxsplit=1)[0]


def _detail(exc: BaseException) -> str:
    """An exception's text as one short line, or only its type when the text could quote a URL
    (and with it a credential or token)."""
    text = " ".join(str(exc).split())[:200]
    return type(exc).__name__ if not text or any(c in text for c in ("://", "@", "?", "#")) else text


#: Seconds an HTTP(S) server may take to accept the connection, and then to send the next bytes of
#: a reply; a server that accepts and stays silent is an error after this, not a hang (aiohttp's
#: own default waits 5 minutes). There is no limit on a whole transfer, which may be large.
HTTP_TIMEOUTS_S = (30.0, 60.0)


#: Most bytes one staged URL may hold (its file, or all the files under its folder), and most files
#: under a staged folder. A case is a study (a CT series is hundreds of MB); a store that lists
#: millions of files or sends an endless reply is refused at the limit, not copied until the disk
#: is full. The size a store reports is checked before the copy starts, the bytes received during it.
MAX_STAGED_BYTES = 16 << 30
MAX_STAGED_FILES = 100_000


class _Budget:
    """Bytes one staging may still write; refuses the write that would pass `MAX_STAGED_BYTES`."""

    def __init__(self, url: str) -> None:
        self.url, self.left = url, MAX_STAGED_BYTES

    def refuse(self) -> LocationError:
        return LocationError(f"{shown(self.url)}: holds more than MAX_STAGED_BYTES = {MAX_STAGED_BYTES} bytes "
                             "(a case's files must be at most that); refused, nothing kept")

    def take(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise self.refuse()


class _CappedFile:
    """A new local file that a store's ``get_file`` writes into (any fsspec backend accepts a
    file-like target) and that stops the transfer once the staging's byte budget is spent."""

    def __init__(self, path: Path, budget: _Budget) -> None:
        self._f = open(path, "xb")  # noqa: SIM115 - closed by close(), which the backend calls or _get does
        self._budget = budget

    def write(self, data: bytes) -> int:
        self._budget.take(len(data))
        return self._f.write(data)

    def read(self, *args: object) -> bytes:  # present because fsspec recognises a target by read/close/tell
        raise OSError("a staging target is write-only")

    def tell(self) -> int:
        return self._f.tell()

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _get(fs: object, remote: str, target: Path, budget: _Budget, size: object) -> None:
    """Copy one remote file into ``target`` within ``budget`` (``size``: what the store reports)."""
    if isinstance(size, int) and size > budget.left:
        raise budget.refuse()
    out = _CappedFile(target, budget)
    try:
        fs.get_file(remote, out)  # type: ignore[attr-defined]
    finally:
        out.close()


#: Largest HTTP(S) reply read whole into memory (bytes). fsspec reads a reply whole to look for
#: links when it is an HTML page or has no Content-Type (a folder URL's listing; every URL is first
#: asked whether it is a folder); a larger or endless reply is refused instead of filling memory.
#: File bodies are not read whole: they are streamed to disk under `MAX_STAGED_BYTES`.
MAX_LISTING_BYTES = 64 << 20


class _ReplyTooLarge(Exception):
    """An HTTP(S) reply read whole is longer than `MAX_LISTING_BYTES`."""


@functools.lru_cache(maxsize=1)
def _bounded_response_class() -> type:
    """An aiohttp response whose whole-body read stops at `MAX_LISTING_BYTES`."""
    import aiohttp

    class BoundedResponse(aiohttp.ClientResponse):
        async def read(self) -> bytes:
            if self._body is None:
                body = bytearray()
                try:
                    while chunk := await self.content.read(1 << 16):
                        body += chunk
                        if len(body) > MAX_LISTING_BYTES:
                            raise _ReplyTooLarge
                except BaseException:
                    self.close()
                    raise
                self._body = bytes(body)
            return await super().read()  # the body is set: aiohttp's own bookkeeping only

    return BoundedResponse


def _storage_options(url: str) -> dict[str, dict[str, object]]:
    """fsspec options per protocol layer of ``url`` (chained URLs name several): bounded waits and
    bounded whole-reply reads for HTTP(S); other stores keep their own settings (and credentials
    from the environment)."""
    protocols = {bit.split("://", 1)[0].lower() for bit in url.split("::") if "://" in bit}
    web = sorted(protocols & {"http", "https"})
    if not web:
        return {}
    import aiohttp

    timeout = aiohttp.ClientTimeout(sock_connect=HTTP_TIMEOUTS_S[0], sock_read=HTTP_TIMEOUTS_S[1])
    return {p: {"client_kwargs": {"timeout": timeout, "response_class": _bounded_response_class()}} for p in web}


def _open_fs(url: str) -> tuple[object, str]:
    if _PASSWORD.search(url):  # the manifest is copied into the tracking store and the run's inputs
        raise LocationError(f"{shown(url)}: the URL carries a password (user:password@); give the store's "
                            "credentials to its fsspec backend through the environment, not in the manifest")
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec ships with dask, a validation dependency
        raise LocationError(f"{shown(url)}: reading a URL needs the fsspec package") from None
    try:
        return fsspec.core.url_to_fs(url, **_storage_options(url))  # type: ignore[no-any-return]
    except ImportError as exc:
        raise LocationError(f"{shown(url)}: the fsspec backend for this protocol is not installed "
                            f"({_detail(exc)})") from None
    except ValueError as exc:
        raise LocationError(f"{shown(url)}: not a URL fsspec can open ({_detail(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - e.g. the archive of a zip:// URL is missing
        raise LocationError(f"{shown(url)}: cannot be read ({type(exc).__name__})") from None


def _copy(url: str, dest_parent: Path) -> Path:
    """Copy the file or folder tree at ``url`` into ``dest_parent`` under its own name."""
    fs, root = _open_fs(url)
    root = str(root).rstrip("/") or str(root)
    name = PurePosixPath(root).name
    if name in ("", ".", ".."):  # the copy keeps the URL's last name only when it is a plain name
        name = "input"
    try:
        if fs.isdir(root):  # type: ignore[attr-defined]
            dest = dest_parent / name
            dest.mkdir()
            prefix = root + "/"
            found = fs.find(root, detail=True)  # type: ignore[attr-defined]
            if len(found) > MAX_STAGED_FILES:
                raise LocationError(f"{shown(url)}: the folder holds {len(found)} entries, more than "
                                    f"MAX_STAGED_FILES = {MAX_STAGED_FILES}; refused")
            budget = _Budget(url)
            if sum(int(i.get("size") or 0) for i in found.values()) > MAX_STAGED_BYTES:
                raise budget.refuse()
            for f in sorted(found):
                info = found[f]
                if info.get("type") != "file" or info.get("islink"):  # a FIFO would block, a link escape
                    raise LocationError(f"{shown(url)}: the folder holds an entry that is not a regular file "
                                        "(link, FIFO or device); refused")
                rel = str(f)[len(prefix):] if str(f).startswith(prefix) else ""
                parts = PurePosixPath(rel).parts
                if not parts or any(p in ("", ".", "..") for p in parts):
                    raise LocationError(f"{shown(url)}: the folder lists an entry outside itself or with a name "
                                        "that is not a plain relative name; refused")
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                _get(fs, f, target, budget, info.get("size"))
            return dest
        if not fs.isfile(root):  # type: ignore[attr-defined]
            raise LocationError(f"{shown(url)}: no file or folder at this URL")
        dest = dest_parent / name
        _get(fs, root, dest, _Budget(url), fs.size(root))  # type: ignore[attr-defined]
        return dest
    except LocationError:
        raise
    except _ReplyTooLarge:
        raise LocationError(f"{shown(url)}: the server's reply is an HTML page or has no Content-Type, so it is "
                            f"read whole to list a folder, and it is longer than MAX_LISTING_BYTES = "
                            f"{MAX_LISTING_BYTES} bytes; refused") from None
    except Exception as exc:  # noqa: BLE001 - any store's own errors (HTTP status, auth, network, missing)
        raise LocationError(f"{shown(url)}: cannot be read ({type(exc).__name__})") from None


def _sha256_local(path: Path) -> str:
    from samd_core.hashing import sha256_file, sha256_tree

    return sha256_tree(path) if path.is_dir() else sha256_file(path)


@contextmanager
def staged(location: str | os.PathLike[str], *, expected_sha256: str | None = None) -> Iterator[Path]:
    """A local path holding ``location``'s bytes for the duration of the ``with`` block.

    A file-system path is yielded as it is (no copy). A URL is copied into a private temporary
    folder (file, or every file under a folder, keeping relative names), checked against
    ``expected_sha256`` when given (`sha256_file` for a file, `sha256_tree` for a folder), and
    removed when the block ends, also on error.

    Raises
    ------
    LocationError
        The URL cannot be opened or read, or its staged copy's SHA-256 differs from ``expected_sha256``.
    """
    if not is_url(location):
        yield Path(location)
        return
    url = str(location)
    tmp = Path(tempfile.mkdtemp(prefix="samd-stage-"))
    try:
        local = _copy(url, tmp)
        if expected_sha256:
            found = _sha256_local(local)
            if found != expected_sha256.strip().lower():
                raise LocationError(f"{shown(url)}: sha256 {found} != manifest {expected_sha256.strip().lower()} "
                                    "(changed after the run's check); not read")
        yield local
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def location_sha256(location: str | os.PathLike[str]) -> str:
    """SHA-256 of a case file or folder, path or URL, in the manifest's format.

    A file: SHA-256 of its bytes. A folder (a DICOM series): `samd_core.hashing.sha256_tree`
    (``<relative name>\\0<sha256 of the file>\\n`` over the files sorted by name). A URL is
    staged first (`staged`), so the value is the same as for a local copy of the same files.

    Raises
    ------
    LocationError
        A URL that cannot be read.
    FileNotFoundError
        A path where no file or folder is (a FIFO, socket or device counts as none: never opened).
    IntegrityError
        A folder holding a symbolic link or another non-regular file (`sha256_tree`).
    """
    with staged(location) as local:
        if not (local.is_dir() or local.is_file()):
            raise FileNotFoundError(local.name)
        return _sha256_local(local)
