"""Downloading data sets into a local cache: streamed, checked by SHA-256, and unpacked safely.

The cache is `$LAMINA_HOME` if set, else `$XDG_CACHE_HOME/lamina` (default `~/.cache/lamina`).
Downloaded files go to `downloads/`, unpacked archives to `data/<name>/`. Every step is atomic:
a download is written to a temporary file beside its target and renamed only once complete and
verified, and an archive is unpacked into a temporary folder renamed only once complete, so an
interrupted run never leaves anything that looks finished, and the temporaries a killed run
left behind are removed by the next run for the same file. What is already there is reused
without touching the network, which is also how to work offline: put the file where the error
message says.

A download is known to be complete only when its SHA-256 is given: a server that closes the
connection early without having sent a Content-Length leaves a truncated file that nothing else
can tell from a whole one. Without `sha256`, `download_data` warns (`UnverifiedDownloadWarning`)
and names the digest of what it got, to pass next time. Where only the leading digits of the digest
are published (as in `name-1a2b3c4d.pth`), `sha256_prefix` checks those: enough to catch a
truncated or corrupted file, though not a deliberately forged one.

Unpacking refuses members that would land outside the folder, and stops (`ArchiveTooLargeError`)
once the bytes actually written or the number of members pass `max_bytes` or `max_files`.

Example:
    >>> path = download_data("https://example.com/pets.tgz", sha256="3a7b...")
    >>> sorted(p.name for p in path.iterdir())
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import warnings
from contextlib import suppress
from pathlib import Path
from typing import Any

from lamina.core.files import (
    atomic_path,
    fsync_path,
    hold_lock,
    remove_stale_temporaries,
    temporary_path,
)
from lamina.data.archives import (
    ARCHIVE_SUFFIXES,
    CHUNK_BYTES,
    MAX_BYTES,
    MAX_FILES,
    ArchiveTooLargeError,
    Budget,
    UnsafeArchiveError,
    unpack,
)

__all__ = [
    "ArchiveTooLargeError",
    "DownloadError",
    "UnsafeArchiveError",
    "UnverifiedDownloadWarning",
    "cache_dir",
    "download_data",
    "extract_archive",
    "file_sha256",
]

URL_SCHEMES = ("http", "https", "ftp", "file")


class DownloadError(ConnectionError):
    """The server could not be reached, refused the request, or sent an incomplete file."""


class UnverifiedDownloadWarning(UserWarning):
    """A file was downloaded without a SHA-256 to check it against, so it may be incomplete."""


def cache_dir() -> Path:
    """lamina's cache folder: `$LAMINA_HOME`, else `$XDG_CACHE_HOME/lamina` or `~/.cache/lamina`."""
    home = os.environ.get("LAMINA_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "lamina"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def download_data(
    url: str,
    sha256: str | None = None,
    extract: bool = True,
    dest: str | os.PathLike | None = None,
    force: bool = False,
    timeout: float = 30.0,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
    sha256_prefix: str | None = None,
) -> Path:
    """Download `url` once into the cache and return its local path.

    Archives (.tar.gz, .tgz, .tar.bz2, .tar.xz, .tar, .zip) are unpacked and the folder is
    returned; other files are returned as they are. An archive whose only top-level entry is a
    folder named like the archive (`pets.tgz` holding `pets/`) is unpacked without that extra
    level.

    Args:
        url: where to fetch the file (http, https, ftp or file).
        sha256: the expected SHA-256 hex digest; checked before the file is used. It is the only
            check that a download is complete: without it a `UnverifiedDownloadWarning` is given.
        extract: unpack archives (False: return the archive file itself).
        dest: a folder to use instead of the cache; the file and the unpacked folder go there.
        force: download (and unpack) again even if a copy is present. Only a folder that lamina
            unpacked from this archive is ever replaced.
        timeout: seconds to wait on the connection and on each read before giving up.
        max_bytes, max_files: the most bytes and members unpacking may write.
        sha256_prefix: the leading hex digits (8 or more) of the expected SHA-256, for files
            whose name carries only those; checked like `sha256`, and no warning is given.

    Raises:
        DownloadError: the server failed or could not be reached (the message says where to put
            the file by hand); ValueError: the checksum does not match; UnsafeArchiveError: the
            archive would write outside its folder, or past `max_bytes` or `max_files`
            (`ArchiveTooLargeError`).
    """
    expected = _check_download_args(url, sha256, timeout, sha256_prefix)
    _check_limits(max_bytes, max_files)
    name = _file_name(url)
    root = Path(dest).expanduser() if dest is not None else None
    downloads = root or cache_dir() / "downloads"
    folder = None
    if extract and _archive_stem(name):
        folder = (root or cache_dir() / "data") / _folder_name(name, url)
        if folder.is_dir() and not force:
            return folder
    path = downloads / name
    if force or not path.is_file():
        _fetch(url, path, expected, timeout)
    elif expected is not None:
        actual = file_sha256(path)
        if not actual.startswith(expected):
            raise ValueError(
                f"the file {path} (for {url}) has SHA-256 {actual}, {_not_expected(expected)}; "
                "delete it, or pass force=True to download it again"
            )
    if folder is None:
        return path
    return extract_archive(path, folder, replace=force, max_bytes=max_bytes, max_files=max_files)


def extract_archive(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    replace: bool = False,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
) -> Path:
    """Unpack a tar (gz, bz2, xz) or zip `archive` into the folder `dest`, atomically.

    Members that would land outside `dest` (absolute paths, `..`, links pointing out, device
    files) raise `UnsafeArchiveError` before anything is written; more than `max_files` members
    or `max_bytes` bytes written raise `ArchiveTooLargeError` as soon as they are reached.
    `replace` swaps an existing `dest` for the new folder, but only a `dest` that lamina
    unpacked from an archive of the same name (it leaves a marker beside the folder); otherwise
    an existing `dest` is kept and returned.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.name in ("", ".", ".."):
        raise ValueError(f"dest must name a folder to create, got {str(dest)!r}")
    _check_limits(max_bytes, max_files)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(dest)
    if replace and os.path.lexists(dest):
        _check_ours(dest, archive)
    temporary = temporary_path(dest)
    temporary.mkdir()
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        hold_lock(descriptor)
        unpack(archive, temporary, Budget(archive, max_bytes, max_files))
        _move_into_place(_unpacked_root(temporary, dest.name), dest, archive, replace)
    finally:
        os.close(descriptor)
        shutil.rmtree(temporary, ignore_errors=True)
    return dest


def _unpacked_root(temporary: Path, name: str) -> Path:
    """The folder to move into place: the archive's own `name/` folder when it holds only it."""
    entries = list(temporary.iterdir())
    single = len(entries) == 1 and entries[0].name == name and entries[0].is_dir()
    return entries[0] if single and not entries[0].is_symlink() else temporary


def _move_into_place(source: Path, dest: Path, archive: Path, replace: bool) -> None:
    aside = temporary_path(dest) if replace and os.path.lexists(dest) else None
    if aside is not None:
        os.rename(dest, aside)  # checked to be lamina's own folder for this archive
    try:
        os.replace(source, dest)
    except OSError:
        if aside is not None:
            os.rename(aside, dest)
            raise
        if not dest.is_dir():  # else another process unpacked it first: keep theirs
            raise
        return
    fsync_path(dest.parent)
    _write_marker(dest, archive)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


# ----------------------------------------------------------------------------- ownership
def _marker(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.lamina-unpacked.json"


def _write_marker(dest: Path, archive: Path) -> None:
    """Record beside `dest` that lamina unpacked it from `archive`, so force may replace it."""
    with atomic_path(_marker(dest)) as temporary:
        temporary.write_text(json.dumps({"format": "lamina-unpacked", "archive": archive.name}))


def _check_ours(dest: Path, archive: Path) -> None:
    """Raise unless `dest` is a real folder that lamina unpacked from an archive so named."""
    marker, recorded = _marker(dest), None
    with suppress(OSError, ValueError):
        if stat.S_ISREG(marker.lstat().st_mode):
            recorded = json.loads(marker.read_text()).get("archive")
    if dest.is_symlink() or not dest.is_dir() or recorded != archive.name:
        raise ValueError(
            f"{dest} exists and lamina did not unpack it from {archive.name} (no marker "
            f"{marker.name} naming it), so it is left alone; move or delete it yourself to "
            "unpack the archive there"
        )


# ----------------------------------------------------------------------------- downloading
def _check_download_args(
    url: str, sha256: str | None, timeout: float, sha256_prefix: str | None = None
) -> str | None:
    """The expected digest, lower case: the whole one, else the prefix, else None."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or urlsplit(url).scheme not in URL_SCHEMES:
        raise ValueError(f"url must be a URL with a scheme in {URL_SCHEMES}, got {url!r}")
    if sha256 is not None and not (
        isinstance(sha256, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha256)
    ):
        raise ValueError(f"sha256 must be 64 hexadecimal digits or None, got {sha256!r}")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if sha256_prefix is None:
        return None if sha256 is None else sha256.lower()
    if not (isinstance(sha256_prefix, str) and re.fullmatch(r"[0-9a-fA-F]{8,64}", sha256_prefix)):
        raise ValueError(
            f"sha256_prefix must be 8 to 64 hexadecimal digits or None, got {sha256_prefix!r}"
        )
    if sha256 is not None and not sha256.lower().startswith(sha256_prefix.lower()):
        raise ValueError(f"sha256 {sha256!r} does not start with sha256_prefix {sha256_prefix!r}")
    return (sha256 or sha256_prefix).lower()


def _not_expected(expected: str) -> str:
    if len(expected) == 64:
        return f"not the expected {expected}"
    return f"which does not start with the expected {expected}"


def _check_limits(max_bytes: int, max_files: int) -> None:
    for name, value in (("max_bytes", max_bytes), ("max_files", max_files)):
        if type(value) is not int or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _file_name(url: str) -> str:
    """The last part of the URL's path, or a name made from its hash when it has none."""
    from urllib.parse import unquote, urlsplit

    name = unquote(urlsplit(url).path).replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        return "download-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    return name


def _archive_stem(name: str) -> str | None:
    """`pets` for `pets.tar.gz` and the like; None when `name` is not an archive."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def _folder_name(name: str, url: str) -> str:
    """The folder to unpack archive `name` into: its stem, or a name made from the URL's hash
    when the stem could not be one folder inside the destination (`..tgz`, `...tgz`)."""
    stem = _archive_stem(name) or ""
    if stem in ("", ".", "..") or any(sign in stem for sign in ("/", "\\", "\0")):
        return "download-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    return stem


def _fetch(url: str, path: Path, expected: str | None, timeout: float) -> None:
    """Stream `url` to `path` through a temporary file, verified before it is renamed."""
    import http.client
    import urllib.error
    import urllib.request

    path.parent.mkdir(parents=True, exist_ok=True)  # so the folder named on failure exists
    request = urllib.request.Request(url, headers={"User-Agent": "lamina"})
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,
            atomic_path(path) as temporary,
        ):
            actual = _stream(response, temporary, url)
            if expected is not None and not actual.startswith(expected):
                raise ValueError(
                    f"the download of {url} has SHA-256 {actual}, {_not_expected(expected)}; "
                    "it was deleted. The file on the server may have changed, or been corrupted"
                )
    except DownloadError:
        raise
    except urllib.error.HTTPError as error:
        error.close()  # it holds the response's connection
        reason = f"the server answered {error.code} {error.reason}"
        raise DownloadError(_by_hand(url, path, reason)) from error
    except (
        urllib.error.URLError,
        http.client.HTTPException,
        TimeoutError,
        ConnectionError,
    ) as error:
        reason = getattr(error, "reason", None) or f"{type(error).__name__}: {error}"
        raise DownloadError(_by_hand(url, path, str(reason))) from error
    if expected is None:
        message = (
            f"downloaded {url} without a sha256 to check it against: a transfer cut short by a "
            f"server that sent no Content-Length would go unnoticed. What arrived has SHA-256 "
            f"{actual}; pass sha256={actual!r} to verify it"
        )
        warnings.warn(UnverifiedDownloadWarning(message), stacklevel=3)


def _stream(response: Any, temporary: Path, url: str) -> str:
    """Copy the response body to `temporary` in chunks with a progress bar; its SHA-256."""
    from tqdm import tqdm  # not tqdm.auto: in a kernel without ipywidgets it warns, for a bar
    # that `disable=None` turns off there anyway (a notebook's stderr is no terminal)

    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    digest, done = hashlib.sha256(), 0
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=temporary.name,
        disable=None,
        leave=False,
    )  # fmt: skip  (disabled when not a terminal)
    with open(temporary, "wb") as handle, bar:
        while chunk := response.read(CHUNK_BYTES):
            handle.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            bar.update(len(chunk))
    if total is not None and done != total:
        # http.client returns a short body without raising when the server hangs up early
        raise DownloadError(f"the download of {url} stopped after {done} of {total} bytes")
    return digest.hexdigest()


def _by_hand(url: str, path: Path, reason: str) -> str:
    return (
        f"could not download {url}: {reason}. If this machine is offline, fetch the file "
        f"elsewhere and put it at {path}; download_data will then use it without the network"
    )
