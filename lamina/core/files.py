"""Safe files: atomic writes, and tensors plus JSON in one safetensors file (never pickle).

A file is written to a temporary beside its target, flushed to disk, and renamed over the target
in one step, so a crash or power cut leaves the old file or the new one, never a partial one.
Temporaries are named `.{target}.lamina-{host}-{pid}-{token}.tmp{suffix}`: a write killed before
its rename leaves one behind, and the next write to the same target removes those whose writer
is gone (same host, process no longer running, file not locked) or that were last touched more
than `STALE_SECONDS` ago. A concurrent writer is never disturbed: it is alive and holds a lock.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import torch

METADATA_KEY = "lamina"
STALE_SECONDS = 24 * 3600
MAX_JSON_DEPTH = 100
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


# ----------------------------------------------------------------------------- temporaries
def temporary_path(final: str | os.PathLike) -> Path:
    """A fresh temporary name beside `final`, in the pattern `remove_stale_temporaries` knows."""
    final = Path(final)
    # The temporary keeps the final suffix: some writers (torch.export) check it.
    token = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    return final.parent / f".{final.name}.lamina-{token}.tmp{final.suffix}"


def _temporary_pattern(final: Path) -> re.Pattern[str]:
    return re.compile(
        rf"\.{re.escape(final.name)}\.lamina-(?P<host>[0-9a-f]{{8}})-(?P<pid>[0-9]+)-[0-9a-f]{{8}}"
        rf"\.tmp{re.escape(final.suffix)}"
    )


def remove_stale_temporaries(final: str | os.PathLike) -> list[Path]:
    """Delete the temporaries of `final` (files or folders) left by writers that are gone.

    Only names in lamina's own pattern for this very target are considered; a temporary is
    removed when it was last touched more than `STALE_SECONDS` ago, or when it was made on this
    host by a process no longer running and nobody holds its lock. Returns what was removed.
    """
    final = Path(final)
    pattern = _temporary_pattern(final)
    try:
        names = [entry.name for entry in os.scandir(final.parent)]
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in names:
        match = pattern.fullmatch(name)
        path = final.parent / name
        if match and _abandoned(path, match["host"], int(match["pid"])):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _abandoned(path: Path, host: str, pid: int) -> bool:
    try:
        age = time.time() - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > STALE_SECONDS:
        return True
    if host != _HOST or _alive(pid):
        return False
    return not _locked(path)  # the same host name can hide another PID namespace (containers)


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":  # elsewhere os.kill(pid, 0) would kill it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, as another user
        return True
    return True


def hold_lock(descriptor: int) -> None:
    """Lock an open temporary (or folder) so `remove_stale_temporaries` knows it is in use."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: temporaries are judged by age alone
        return
    with suppress(OSError):  # file systems without locks: judged by PID and age alone
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _locked(path: Path) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover
        return True
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(descriptor)  # also releases the shared lock taken to test
    return False


def fsync_path(path: str | os.PathLike) -> None:
    """Flush a file's (or a folder's entries') data to disk, where the system allows it."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. folders cannot be opened on Windows
        return
    try:
        with suppress(OSError):  # some file systems refuse fsync on folders
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed over `path` in one step.

    A crash or interrupt while writing leaves any previous file untouched and no partial file
    under `path`; the file is flushed to disk before the rename and the folder after it. The
    new file gets the permissions `open()` would give (0666 less the umask). Temporaries that
    earlier, killed writes of `path` left behind are removed first.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(final)
    temporary = temporary_path(final)
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(temporary, flags, 0o666)  # the umask applies, as with open()
    try:
        hold_lock(descriptor)
        yield temporary
        fsync_path(temporary)
        os.replace(temporary, final)
        fsync_path(final.parent)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        os.close(descriptor)


# ----------------------------------------------------------------------------- tensors + JSON
def save_tensors_json(
    path: str | os.PathLike, tensors: dict[str, torch.Tensor], info: dict[str, Any]
) -> Path:
    """Write `tensors` and the JSON-able `info` to one safetensors file, atomically."""
    import safetensors.torch

    contiguous, seen = {}, set()
    for key, value in tensors.items():
        value = value.detach().cpu().contiguous()
        if value.untyped_storage().data_ptr() in seen and value.numel():
            value = value.clone()  # safetensors refuses tensors that share memory (tied weights)
        seen.add(value.untyped_storage().data_ptr())
        contiguous[key] = value
    # Serialized here and written by us: safetensors' save_file would make a second temporary
    # of its own, left behind (full size) when the process is killed.
    data = safetensors.torch.save(contiguous, metadata={METADATA_KEY: json.dumps(info)})
    with atomic_path(path) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
    return Path(path)


def load_tensors_json(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by `save_tensors_json`. Parses tensors and JSON only; runs no code.

    Raises:
        FileNotFoundError: no file at `path`; ValueError: not a safetensors file, or its lamina
            metadata is not a JSON object nested at most `MAX_JSON_DEPTH` levels deep.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except SafetensorError as error:
        raise ValueError(f"{path} is not a valid lamina/safetensors file: {error}") from error
    if METADATA_KEY not in metadata:
        raise ValueError(f"{path} holds no lamina metadata; was it written by lamina?")
    try:
        info = json.loads(metadata[METADATA_KEY])
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: its lamina metadata is not valid JSON ({error})") from error
    except RecursionError as error:
        raise ValueError(
            f"{path}: its lamina metadata is JSON nested too deeply to read "
            f"(at most {MAX_JSON_DEPTH} levels are allowed)"
        ) from error
    if not isinstance(info, dict):
        raise ValueError(
            f"{path}: its lamina metadata must be a JSON object, got a {type(info).__name__}"
        )
    if _depth(info) > MAX_JSON_DEPTH:
        raise ValueError(
            f"{path}: its lamina metadata is nested more than {MAX_JSON_DEPTH} levels deep"
        )
    return tensors, info


def _depth(obj: Any) -> int:
    """How deeply lists and objects nest in parsed JSON (without recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest
