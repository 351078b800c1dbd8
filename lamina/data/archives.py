"""Unpacking tar and zip archives safely: nothing lands outside the folder, and a bomb stops.

A member whose path (or link target) would land outside the folder it is unpacked into, or a
device file, is refused (`UnsafeArchiveError`) before anything is written. A `Budget` counts the
members and the bytes actually written and stops (`ArchiveTooLargeError`) as soon as either
passes its limit, so an archive that lies in its headers cannot fill the disk.
`lamina.data.download.extract_archive` is the public entry: it unpacks into a temporary folder
with these and moves the result into place atomically.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

MAX_BYTES = 64 * 2**30  # what unpacking one archive may write, by default
MAX_FILES = 1_000_000  # how many members one archive may hold, by default
TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar")
ARCHIVE_SUFFIXES = (*TAR_SUFFIXES, ".zip")
CHUNK_BYTES = 1 << 20  # read and written at a time


class UnsafeArchiveError(ValueError):
    """An archive holds a member that would be written outside the folder it is unpacked to."""


class ArchiveTooLargeError(UnsafeArchiveError):
    """An archive unpacks to more bytes or members than allowed (`max_bytes`, `max_files`)."""


def unpack(archive: Path, into: Path, budget: Budget) -> None:
    """Unpack `archive` (zip by its suffix, else tar) into the existing folder `into`."""
    if archive.name.lower().endswith(".zip"):
        _unzip(archive, into, budget)
    else:
        _untar(archive, into, budget)


def _outside(name: str, root: str) -> bool:
    """Whether archive member `name` would land outside the folder `root` (judged lexically)."""
    if os.path.isabs(name) or name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        return True
    target = os.path.normpath(os.path.join(root, name))
    return target != root and not target.startswith(root + os.sep)


def _resolve(path: str, links: dict[str, str], depth: int = 0) -> str | None:
    """`path` inside the archive with the archive's own symbolic links followed, or None when
    it leaves the destination (or the links loop).

    Lexical checks alone miss chains: with `a -> .` and `x -> a/..`, the name `x/evil` looks
    inside but lands in the parent folder. Python's "data" tar filter catches this only in
    releases patched in 2025, so the links are resolved here, whatever the Python.
    """
    resolved: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get("/".join(resolved))
        if target is None:
            continue
        if depth > 32 or target.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", target):
            return None
        followed = _resolve("/".join([*resolved[:-1], target]), links, depth + 1)
        if followed is None:
            return None
        resolved = followed.split("/") if followed else []
    return "/".join(resolved)


def _tar_refusal(member: Any, root: str, links: dict[str, str]) -> str | None:
    """Why a tar member is unsafe to unpack into `root`, or None.

    `links` maps every symbolic link in the archive (normalized name) to its target.
    """
    name = os.path.normpath(member.name).replace(os.sep, "/")
    parent = _resolve(os.path.dirname(name), links)
    if _outside(member.name, root) or parent is None:
        return "would be written outside the destination"
    if member.issym():
        target = os.path.join(os.path.dirname(member.name), member.linkname)
        if (
            os.path.isabs(member.linkname)
            or _outside(target, root)
            or _resolve(f"{parent}/{member.linkname}", links) is None
        ):
            return f"is a symbolic link to {member.linkname!r}, outside the destination"
    if member.islnk() and (_outside(member.linkname, root) or _resolve(member.linkname, links)
                           is None):  # fmt: skip
        return f"is a hard link to {member.linkname!r}, outside the destination"
    if member.isdev():
        return "is a device file"
    return None


class Budget:
    """Counts what unpacking `archive` writes, and stops it past `max_bytes` or `max_files`."""

    def __init__(self, archive: Path, max_bytes: int, max_files: int) -> None:
        self.archive, self.max_bytes, self.max_files = archive, max_bytes, max_files
        self.bytes = self.files = 0

    def add_member(self) -> None:
        self.files += 1
        if self.files > self.max_files:
            raise ArchiveTooLargeError(
                f"refusing to unpack {self.archive}: it holds more than {self.max_files} members "
                f"(max_files={self.max_files}); pass a larger max_files if you trust it"
            )

    def add_bytes(self, count: int) -> None:
        self.bytes += count
        if self.bytes > self.max_bytes:
            raise ArchiveTooLargeError(
                f"refusing to unpack {self.archive}: it expands to more than {self.max_bytes} "
                f"bytes (max_bytes={self.max_bytes}); pass a larger max_bytes if you trust it"
            )


def _tar_members(tar: Any, budget: Budget) -> list[Any]:
    """The members, read one header at a time so that a bomb stops at the limit.

    A tar member's size is exactly what extracting it writes (tarfile copies that many bytes
    and fails on fewer), so counting the headers bounds what is written.
    """
    members = []
    for member in tar:
        budget.add_member()
        budget.add_bytes(member.size if member.isreg() else 0)
        members.append(member)
    return members


def _untar(archive: Path, into: Path, budget: Budget) -> None:
    import tarfile

    root = os.path.normpath(str(into))
    try:
        with tarfile.open(archive) as tar:
            members = _tar_members(tar, budget)
            links = {os.path.normpath(m.name).replace(os.sep, "/"): m.linkname
                     for m in members if m.issym()}  # fmt: skip
            for member in members:
                refusal = _tar_refusal(member, root, links)
                if refusal is not None:
                    raise UnsafeArchiveError(
                        f"refusing to unpack {archive}: its member {member.name!r} {refusal}"
                    )
            if hasattr(tarfile, "data_filter"):  # also guards links made during extraction
                tar.extractall(into, members=members, filter="data")
            else:  # pragma: no cover - Python without tar filters (before 3.10.12/3.11.4)
                tar.extractall(into, members=members)
    except tarfile.FilterError as error:
        raise UnsafeArchiveError(f"refusing to unpack {archive}: {error}") from error
    except tarfile.TarError as error:
        raise ValueError(f"{archive} is not a readable tar archive: {error}") from error


def _zip_refusal(handle: Any, info: Any, root: str) -> str | None:
    """Why a zip member is unsafe to unpack into `root`, or None."""
    name = info.filename.replace("\\", "/")
    if _outside(name, root):
        return "would be written outside the destination"
    if stat.S_ISLNK(info.external_attr >> 16):
        with handle.open(info) as source:  # a link target is short; read no more than that
            link = source.read(4096).decode(errors="replace")
        if os.path.isabs(link) or _outside(os.path.join(os.path.dirname(name), link), root):
            return f"is a symbolic link to {link!r}, outside the destination"
    return None


def _unzip(archive: Path, into: Path, budget: Budget) -> None:
    import zipfile

    root = os.path.normpath(str(into))
    try:
        with zipfile.ZipFile(archive) as handle:
            infos = handle.infolist()
            for info in infos:
                budget.add_member()
                refusal = _zip_refusal(handle, info, root)
                if refusal is not None:
                    raise UnsafeArchiveError(
                        f"refusing to unpack {archive}: its member {info.filename!r} {refusal}"
                    )
            declared = _declared_bytes(infos)
            if declared > budget.max_bytes:
                budget.add_bytes(declared)  # refused before anything is written
            for info in infos:
                _unzip_member(handle, info, into, budget)
    except zipfile.BadZipFile as error:
        raise ValueError(f"{archive} is not a readable zip archive: {error}") from error


def _declared_bytes(infos: list[Any]) -> int:
    return sum(info.file_size for info in infos)


def _unzip_member(handle: Any, info: Any, into: Path, budget: Budget) -> None:
    """Write one member, counting the bytes really written: a zip's declared sizes can lie."""
    target = into / os.path.normpath(info.filename.replace("\\", "/"))
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    with handle.open(info) as source, open(target, "wb") as out:
        while chunk := source.read(CHUNK_BYTES):
            budget.add_bytes(len(chunk))
            out.write(chunk)
