"""download_data never deletes what is not its own, limits archive bombs, warns when unverified,
and cleans up after a killed download."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from lamina.core import files
from lamina.data import archives as archives_module
from lamina.data.download import (
    ArchiveTooLargeError,
    UnverifiedDownloadWarning,
    download_data,
    extract_archive,
)
from tests.data.test_download import Handler, leftovers, make_tar, make_zip, sha
from tests.data.test_download import home as home  # noqa: PLC0414 - fixtures, used by name
from tests.data.test_download import server as server  # noqa: PLC0414

ROOT = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- folder names
@pytest.mark.parametrize("name", ["..tgz", "...tgz", "..tar.gz", "...zip"])
@pytest.mark.parametrize("force", [False, True])
def test_an_archive_named_dots_never_resolves_to_the_destination_or_its_parent(
    server, tmp_path, name, force
):
    dest = tmp_path / "outer" / "dest"
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("mine")
    (tmp_path / "outer" / "sibling.txt").write_text("mine too")
    maker = make_zip if name.endswith(".zip") else make_tar
    data = maker(server.root / name, {"a.txt": b"A"})
    folder = download_data(f"{server.url}/{name}", sha256=sha(data), dest=dest, force=force)
    assert folder.parent == dest
    assert folder.name.startswith("download-")
    assert (folder / "a.txt").read_bytes() == b"A"
    again = download_data(f"{server.url}/{name}", sha256=sha(data), dest=dest, force=True)
    assert again == folder
    assert (dest / "keep.txt").read_text() == "mine"
    assert (tmp_path / "outer" / "sibling.txt").read_text() == "mine too"


def test_force_never_removes_a_folder_lamina_did_not_unpack(server, home):
    data = make_tar(server.root / "pets.tgz", {"a.txt": b"A"})
    own = home / "data" / "pets"
    own.mkdir(parents=True)
    (own / "notes.txt").write_text("my own work")
    assert download_data(f"{server.url}/pets.tgz", sha256=sha(data)) == own  # reused as before
    with pytest.raises(ValueError, match="lamina did not unpack it from pets.tgz") as info:
        download_data(f"{server.url}/pets.tgz", sha256=sha(data), force=True)
    assert str(own) in str(info.value)
    assert (own / "notes.txt").read_text() == "my own work"
    assert leftovers(home / "data") == []


def test_force_replaces_lamina_s_own_folder_for_the_same_archive_only(server, home, tmp_path):
    data = make_tar(server.root / "pets.tgz", {"a.txt": b"A"})
    folder = download_data(f"{server.url}/pets.tgz", sha256=sha(data))
    data = make_tar(server.root / "pets.tgz", {"b.txt": b"B"})
    folder = download_data(f"{server.url}/pets.tgz", sha256=sha(data), force=True)
    assert sorted(p.name for p in folder.iterdir()) == ["b.txt"]
    other = make_zip(tmp_path / "pets.zip", {"c.txt": b"C"})  # same folder, another archive
    with pytest.raises(ValueError, match="did not unpack it from pets.zip"):
        extract_archive(tmp_path / "pets.zip", folder, replace=True)
    assert other
    assert (folder / "b.txt").exists()


def test_a_symbolic_link_in_place_of_the_folder_is_not_followed(tmp_path):
    archive = tmp_path / "set.tgz"
    make_tar(archive, {"a.txt": b"A"})
    target = tmp_path / "precious"
    target.mkdir()
    (target / "x").write_text("x")
    extract_archive(archive, tmp_path / "out" / "set")
    (tmp_path / "out" / "set").rename(tmp_path / "out" / "moved")
    (tmp_path / "out" / "set").symlink_to(target)
    with pytest.raises(ValueError, match="did not unpack it"):
        extract_archive(archive, tmp_path / "out" / "set", replace=True)
    assert (target / "x").read_text() == "x"


@pytest.mark.parametrize("dest", ["..", "a/..", "."])
def test_extract_archive_refuses_a_dest_that_names_no_new_folder(tmp_path, monkeypatch, dest):
    archive = tmp_path / "a.tgz"
    make_tar(archive, {"a.txt": b"A"})
    inner = tmp_path / "box" / "inner"
    inner.mkdir(parents=True)
    (tmp_path / "box" / "keep.txt").write_text("mine")
    # Relative dests resolve inside this test's folder: before the fix, replace=True ran
    # rmtree("..") on the working directory's parent, which must never be a real folder.
    monkeypatch.chdir(inner)
    with pytest.raises(ValueError, match="dest must name a folder"):
        extract_archive(archive, Path(dest), replace=True)
    assert (tmp_path / "box" / "keep.txt").read_text() == "mine"
    assert inner.is_dir()


# ----------------------------------------------------------------------------- limits
def test_too_many_members_stop_unpacking(tmp_path):
    archive = tmp_path / "many.tgz"
    make_tar(archive, {f"f{i}.txt": b"" for i in range(50)})
    with pytest.raises(ArchiveTooLargeError, match=r"many.tgz: .*more than 10 members .*max_files"):
        extract_archive(archive, tmp_path / "out" / "many", max_files=10)
    assert not (tmp_path / "out" / "many").exists()
    assert leftovers(tmp_path / "out") == []
    assert len(list(extract_archive(archive, tmp_path / "ok", max_files=50).iterdir())) == 50


@pytest.mark.parametrize("suffix", [".tgz", ".zip"])
def test_an_archive_expanding_past_max_bytes_is_refused(tmp_path, suffix):
    archive = tmp_path / f"bomb{suffix}"
    members = {"a.bin": bytes(600_000), "b.bin": bytes(600_000)}  # compresses to a few KB
    if suffix == ".zip":
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
            for name, data in members.items():
                handle.writestr(name, data)
    else:
        make_tar(archive, members)
    assert archive.stat().st_size < 20_000
    with pytest.raises(ArchiveTooLargeError, match=r"bomb.* more than 1000000 bytes .*max_bytes"):
        extract_archive(archive, tmp_path / "out" / "bomb", max_bytes=1_000_000)
    assert not (tmp_path / "out" / "bomb").exists()
    assert leftovers(tmp_path / "out") == []


def test_zip_bytes_are_counted_as_written_not_as_declared(tmp_path, monkeypatch):
    archive = tmp_path / "liar.zip"
    make_zip(archive, {"a.bin": bytes(300_000), "b.bin": bytes(300_000)})
    # as if the headers declared 10 bytes: the check before writing passes, the count must not
    monkeypatch.setattr(archives_module, "_declared_bytes", lambda infos: 10)
    with pytest.raises(ArchiveTooLargeError, match="max_bytes=500000"):
        extract_archive(archive, tmp_path / "out" / "liar", max_bytes=500_000)


def test_download_data_passes_the_limits_on(server, home):
    data = make_tar(server.root / "many.tgz", {f"f{i}.txt": b"" for i in range(5)})
    with pytest.raises(ArchiveTooLargeError, match="max_files=3"):
        download_data(f"{server.url}/many.tgz", sha256=sha(data), max_files=3)
    with pytest.raises(ValueError, match="max_bytes must be a positive integer, got 0"):
        download_data(f"{server.url}/many.tgz", sha256=sha(data), max_bytes=0)


# ----------------------------------------------------------------------------- verification
class NoLengthHandler(Handler):
    """`/cut/...` sends part of a file with no Content-Length, then hangs up."""

    def do_GET(self) -> None:
        if not self.path.startswith("/cut/"):
            super().do_GET()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.close_connection = True


def test_a_download_without_sha256_warns_naming_the_url_and_digest(server, home):
    (server.root / "notes.txt").write_bytes(b"hello")
    url = f"{server.url}/notes.txt"
    with pytest.warns(UnverifiedDownloadWarning, match=url) as record:
        path = download_data(url)
    assert sha(b"hello") in str(record[0].message)
    assert issubclass(UnverifiedDownloadWarning, UserWarning)
    assert download_data(url) == path  # reused: nothing downloaded, no warning
    download_data(url, sha256=sha(b"hello"), force=True)  # verified: no warning


def test_a_truncated_transfer_without_length_is_only_caught_by_the_checksum(tmp_path, home):
    import http.server
    import threading
    from functools import partial

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(NoLengthHandler, directory=tmp_path)
    )
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/cut/big.bin"
        with pytest.warns(UnverifiedDownloadWarning, match="without a sha256"):
            download_data(url)
        with pytest.raises(ValueError, match="SHA-256"):
            download_data(url, sha256=sha(b"x" * 5000), force=True)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# ----------------------------------------------------------------------------- killed runs
KILLED_DOWNLOAD = """
import sys, time
from lamina.data import download

def stall(response, temporary, url):  # the temporary exists; hold here until killed
    print("started", flush=True)
    time.sleep(60)

download._stream = stall
download.download_data(sys.argv[1], sha256="0" * 64)
"""


def test_a_killed_download_leaves_a_temporary_that_the_next_one_removes(server, home):
    (server.root / "big.bin").write_bytes(b"data")
    url = f"{server.url}/big.bin"
    env = dict(os.environ, LAMINA_HOME=str(home))
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_DOWNLOAD, url], cwd=ROOT, env=env, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout.readline().strip() == b"started"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert len(leftovers(home)) == 1  # the killed run's temporary
    path = download_data(url, sha256=sha(b"data"))
    assert path.read_bytes() == b"data"
    assert leftovers(home) == []


def test_a_killed_unpack_leaves_a_folder_that_the_next_one_removes(tmp_path):
    archive = tmp_path / "set.tgz"
    make_tar(archive, {"a.txt": b"A"})
    dest = tmp_path / "out" / "set"
    dest.parent.mkdir()
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    stale = dest.parent / f".set.lamina-{files._HOST}-{process.pid}-00000000.tmp"
    (stale / "half").mkdir(parents=True)
    os.utime(stale, (time.time(),) * 2)
    extract_archive(archive, dest)
    assert leftovers(tmp_path / "out") == []
    with tarfile.open(archive) as tar:
        assert [m.name for m in tar] == ["a.txt"]
