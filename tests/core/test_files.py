"""Safe files: permissions, temporaries left by killed writers, flushing, and hostile metadata."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from lamina.core import files
from lamina.core.files import (
    atomic_path,
    load_tensors_json,
    remove_stale_temporaries,
    save_tensors_json,
    temporary_path,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask():
    """Set the umask for one test and restore it after."""
    previous = os.umask(0o022)
    yield lambda value: os.umask(value)
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_mode_open_would_give(tmp_path, umask, mask):
    umask(mask)
    with open(tmp_path / "plain", "w"):
        pass
    expected = (tmp_path / "plain").stat().st_mode & 0o777
    assert expected == 0o666 & ~mask
    saved = save_tensors_json(tmp_path / "a.safetensors", {"x": torch.ones(2)}, {})
    assert saved.stat().st_mode & 0o777 == expected
    with atomic_path(tmp_path / "b.bin") as temporary:
        temporary.write_bytes(b"b")
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == expected


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _temporary(final: Path, pid: int, host: str = files._HOST, folder: bool = False) -> Path:
    path = final.parent / f".{final.name}.lamina-{host}-{pid}-0123abcd.tmp{final.suffix}"
    if folder:
        (path / "inner").mkdir(parents=True)
    else:
        path.write_bytes(b"partial")
    return path


def test_stale_temporaries_of_the_same_target_are_removed_and_others_kept(tmp_path):
    final = tmp_path / "model.safetensors"
    dead = _dead_pid()
    gone = _temporary(final, dead)
    gone_folder = _temporary(tmp_path / "pets", dead, folder=True)
    running = _temporary(final, os.getpid() + 0)  # this process: a writer still at work
    elsewhere = _temporary(final, dead, host="0" * 8)  # another host: its PIDs mean nothing here
    old = _temporary(final, 1, host="f" * 8)
    os.utime(old, (time.time() - files.STALE_SECONDS - 60,) * 2)
    other_target = _temporary(tmp_path / "other.safetensors", dead)
    lookalike = tmp_path / f".model.safetensors.{dead}.tmp.safetensors"
    lookalike.write_bytes(b"not ours")

    save_tensors_json(final, {"x": torch.ones(1)}, {})
    assert not gone.exists()
    assert not old.exists()
    assert running.exists()
    assert elsewhere.exists()
    assert other_target.exists()
    assert lookalike.exists()
    assert gone_folder.exists()  # a folder temporary of "pets" only goes with the next "pets"
    assert remove_stale_temporaries(tmp_path / "pets") == [gone_folder]
    assert not gone_folder.exists()


def test_a_locked_temporary_is_kept_even_when_its_pid_looks_gone(tmp_path):
    final = tmp_path / "model.safetensors"
    held = _temporary(final, _dead_pid())  # e.g. a writer in another PID namespace
    descriptor = os.open(held, os.O_RDWR)
    try:
        files.hold_lock(descriptor)
        assert remove_stale_temporaries(final) == []
    finally:
        os.close(descriptor)
    assert remove_stale_temporaries(final) == [held]


KILLED_SAVE = """
import os, sys, time
import torch
from lamina.core.files import save_tensors_json

def stall(*args):  # the data is written; hold here until killed
    print("written", flush=True)
    time.sleep(60)

os.replace = stall
save_tensors_json(sys.argv[1], {f"w{i}": torch.ones(256, 256) for i in range(8)}, {"n": 1})
"""


def test_a_save_killed_mid_way_leaves_one_temporary_which_the_next_save_removes(tmp_path):
    final = tmp_path / "models" / "ckpt.safetensors"
    save_tensors_json(final, {"old": torch.zeros(1)}, {"n": 0})
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_SAVE, str(final)], cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout.readline().strip() == b"written"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    left = sorted(p.name for p in final.parent.iterdir())
    assert len(left) == 2  # the old file and exactly one temporary (no second one)
    assert load_tensors_json(final)[1] == {"n": 0}  # the old file is intact

    save_tensors_json(final, {"new": torch.ones(1)}, {"n": 2})
    assert [p.name for p in final.parent.iterdir()] == ["ckpt.safetensors"]
    assert load_tensors_json(final)[1] == {"n": 2}


def test_the_file_is_flushed_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_replace = os.replace
    monkeypatch.setattr(files, "fsync_path", lambda path: events.append(("fsync", Path(path))))
    monkeypatch.setattr(
        files.os, "replace", lambda a, b: (events.append(("replace", Path(a))), real_replace(a, b))
    )
    final = tmp_path / "f.safetensors"
    save_tensors_json(final, {"x": torch.ones(1)}, {})
    temporary = events[0][1]
    assert temporary.name.startswith(".f.safetensors.lamina-")
    assert events == [("fsync", temporary), ("replace", temporary), ("fsync", tmp_path)]


def test_temporary_names_are_unique_and_keep_the_suffix(tmp_path):
    first, second = temporary_path(tmp_path / "x.onnx"), temporary_path(tmp_path / "x.onnx")
    assert first != second
    assert first.suffix == ".onnx"
    assert first.parent == tmp_path


# ----------------------------------------------------------------------------- hostile metadata
def _raw(path: Path, metadata: str) -> Path:
    save_file({"x": torch.ones(1)}, str(path), metadata={"lamina": metadata})
    return path


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("[1, 2]", "must be a JSON object, got a list"),
        ('"text"', "must be a JSON object, got a str"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"a": ' + "[" * 150 + "]" * 150 + "}", "nested more than 100 levels"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_metadata_is_an_error_naming_the_file(tmp_path, metadata, message):
    path = _raw(tmp_path / "bad.safetensors", metadata)
    with pytest.raises(ValueError, match=message) as info:
        load_tensors_json(path)
    assert str(path) in str(info.value)
    assert "lamina metadata" in str(info.value)


def test_metadata_within_the_depth_limit_loads(tmp_path):
    nested = {"a": [[[{"b": [1, 2]}]]]}
    path = _raw(tmp_path / "ok.safetensors", json.dumps(nested))
    assert load_tensors_json(path)[1] == nested
