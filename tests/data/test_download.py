"""Downloads from a local HTTP server: checksums, atomicity, safe unpacking, offline errors."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import stat
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest

from lamina.data.download import (
    DownloadError,
    UnsafeArchiveError,
    UnverifiedDownloadWarning,
    cache_dir,
    download_data,
    extract_archive,
)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; `/short/...` promises 5000 bytes, sends 1000 and hangs up."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        if self.path.startswith("/short/"):
            self.send_response(200)
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b"x" * 1000)
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=root))
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    served = SimpleNamespace(root=root, url=f"http://127.0.0.1:{httpd.server_address[1]}",
                             hits=httpd.hits, stop=None)  # fmt: skip

    def stop() -> None:
        if thread.is_alive():
            httpd.shutdown()
            httpd.server_close()
            thread.join()

    served.stop = stop
    yield served
    stop()


@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "lamina_home"
    monkeypatch.setenv("LAMINA_HOME", str(home))
    return home


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders left anywhere under `folder` (lamina's markers are no such)."""
    if not folder.exists():
        return []
    return [str(p) for p in folder.rglob("*")
            if p.name.startswith(".") and not p.name.endswith(".lamina-unpacked.json")]  # fmt: skip


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.read_bytes()


def make_zip(path: Path, members: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return path.read_bytes()


# ----------------------------------------------------------------------------- cache folder
def test_cache_dir_follows_lamina_home_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("LAMINA_HOME")
    assert cache_dir() == tmp_path / "xdg" / "lamina"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert cache_dir() == tmp_path / "user" / ".cache" / "lamina"


# ----------------------------------------------------------------------------- plain files
def test_plain_file_is_downloaded_into_the_cache_and_then_reused(server, home):
    data = bytes(range(256)) * 5000  # more than one chunk
    (server.root / "weights.bin").write_bytes(data)
    path = download_data(f"{server.url}/weights.bin", sha256=sha(data).upper())
    assert path == home / "downloads" / "weights.bin"
    assert path.read_bytes() == data
    assert leftovers(home) == []
    server.stop()  # a verified copy is reused without the network
    assert download_data(f"{server.url}/weights.bin", sha256=sha(data)) == path
    assert server.hits == ["/weights.bin"]


def test_checksum_mismatch_deletes_the_download_and_names_both_digests(server, home):
    (server.root / "data.csv").write_bytes(b"a,b\n1,2\n")
    wrong = "0" * 64
    url = f"{server.url}/data.csv"
    with pytest.raises(ValueError, match="SHA-256") as info:
        download_data(url, sha256=wrong)
    message = str(info.value)
    assert url in message
    assert wrong in message
    assert sha(b"a,b\n1,2\n") in message
    assert not (home / "downloads" / "data.csv").exists()
    assert leftovers(home) == []


def test_a_present_file_with_the_wrong_checksum_is_not_used(server, home):
    (home / "downloads").mkdir(parents=True)
    (home / "downloads" / "data.csv").write_bytes(b"stale")
    with pytest.raises(ValueError, match="force=True"):
        download_data(f"{server.url}/data.csv", sha256=sha(b"fresh"))
    (server.root / "data.csv").write_bytes(b"fresh")
    path = download_data(f"{server.url}/data.csv", sha256=sha(b"fresh"), force=True)
    assert path.read_bytes() == b"fresh"


def test_a_sha256_prefix_checks_the_download_and_the_cached_copy(server, home):
    data = b"weights" * 1000
    (server.root / "w.pth").write_bytes(data)
    url = f"{server.url}/w.pth"
    path = download_data(url, sha256_prefix=sha(data)[:8].upper())  # no warning: it is checked
    assert path.read_bytes() == data
    (server.root / "lies.pth").write_bytes(data)
    with pytest.raises(ValueError, match="does not start with the expected 0badc0de") as info:
        download_data(f"{server.url}/lies.pth", sha256_prefix="0badc0de")
    assert sha(data) in str(info.value)
    assert not (home / "downloads" / "lies.pth").exists()
    (home / "downloads" / "lies.pth").write_bytes(data)  # put there by hand
    with pytest.raises(ValueError, match=f"{home / 'downloads' / 'lies.pth'} .*{sha(data)}"):
        download_data(f"{server.url}/lies.pth", sha256_prefix="0badc0de")
    assert server.hits == ["/w.pth", "/lies.pth"]


def test_dest_replaces_the_cache(server, home, tmp_path):
    (server.root / "notes.txt").write_text("hello")
    with pytest.warns(UnverifiedDownloadWarning, match=f"{server.url}/notes.txt"):
        path = download_data(f"{server.url}/notes.txt", dest=tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / "notes.txt"
    assert path.read_text() == "hello"
    assert not home.exists()


# ----------------------------------------------------------------------------- failures
def test_interrupted_download_leaves_nothing_that_looks_complete(server, home):
    with pytest.raises(DownloadError, match="stopped after 1000 of 5000 bytes"):
        download_data(f"{server.url}/short/big.bin")
    assert not (home / "downloads" / "big.bin").exists()
    assert leftovers(home) == []


def test_server_error_names_the_url_and_where_to_put_the_file(server, home):
    url = f"{server.url}/missing.tgz"
    with pytest.raises(DownloadError, match="404") as info:
        download_data(url)
    target = home / "downloads" / "missing.tgz"
    assert url in str(info.value)
    assert str(target) in str(info.value)
    # following the advice: put the file there by hand, and the next call finds it offline
    data = make_tar(server.root / "by_hand.tgz", {"a.txt": b"A"})
    target.write_bytes(data)
    server.stop()
    folder = download_data(url, sha256=sha(data))
    assert (folder / "a.txt").read_bytes() == b"A"


def test_offline_error_on_an_unused_port(home):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/data.zip"
    with pytest.raises(DownloadError, match="could not download .*offline") as info:
        download_data(url, timeout=2)
    assert str(home / "downloads" / "data.zip") in str(info.value)


def test_a_silent_server_times_out_instead_of_hanging(home):
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/slow.bin"
        with pytest.raises(DownloadError, match="timed out"):
            download_data(url, timeout=0.3)


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="sha256 must be 64 hexadecimal digits"):
        download_data("https://example.com/a.bin", sha256="abc")
    with pytest.raises(ValueError, match=r"url must be a URL with a scheme in .* got 'a.bin'"):
        download_data("a.bin")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        download_data("https://example.com/a.bin", timeout=0)
    with pytest.raises(ValueError, match="sha256_prefix must be 8 to 64 hexadecimal digits"):
        download_data("https://example.com/a.bin", sha256_prefix="abc")
    with pytest.raises(ValueError, match="does not start with sha256_prefix"):
        download_data("https://example.com/a.bin", sha256="0" * 64, sha256_prefix="1" * 8)


# ----------------------------------------------------------------------------- archives
@pytest.mark.parametrize("suffix", [".tar.gz", ".tar.bz2", ".tar.xz", ".zip"])
def test_archives_are_unpacked_into_data(server, home, suffix):
    members = {"train/a.txt": b"A", "valid/b.txt": b"B"}
    archive = server.root / f"pets{suffix}"
    if suffix == ".zip":
        data = make_zip(archive, members)
    else:
        data = make_tar(archive, members, mode="w:" + suffix.rsplit(".", 1)[-1])
    folder = download_data(f"{server.url}/pets{suffix}", sha256=sha(data))
    assert folder == home / "data" / "pets"
    assert (folder / "train" / "a.txt").read_bytes() == b"A"
    assert (folder / "valid" / "b.txt").read_bytes() == b"B"
    assert (home / "downloads" / f"pets{suffix}").read_bytes() == data
    assert leftovers(home) == []
    server.stop()
    assert download_data(f"{server.url}/pets{suffix}") == folder  # reused, offline
    kept = download_data(f"{server.url}/pets{suffix}", extract=False)
    assert kept == home / "downloads" / f"pets{suffix}"


def test_a_single_folder_named_like_the_archive_is_not_nested(server, home):
    data = make_tar(
        server.root / "mnist.tgz", {"mnist/train/0.png": b"0", "mnist/labels.csv": b"l"}
    )
    folder = download_data(f"{server.url}/mnist.tgz", sha256=sha(data))
    assert sorted(p.name for p in folder.iterdir()) == ["labels.csv", "train"]


def test_force_unpacks_again(server, home):
    first = make_tar(server.root / "set.tgz", {"v.txt": b"1"})
    folder = download_data(f"{server.url}/set.tgz", sha256=sha(first))
    second = make_tar(server.root / "set.tgz", {"v.txt": b"2"})
    assert (download_data(f"{server.url}/set.tgz") / "v.txt").read_bytes() == b"1"
    again = download_data(f"{server.url}/set.tgz", sha256=sha(second), force=True)
    assert (again / "v.txt").read_bytes() == b"2"
    assert folder == home / "data" / "set"


def tar_with(path: Path, info: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        good = tarfile.TarInfo("fine.txt")
        good.size = 2
        tar.addfile(good, io.BytesIO(b"ok"))
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def symlink(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


TAR_ATTACKS = {
    "dotdot": (tarfile.TarInfo("../evil.txt"), "would be written outside"),
    "absolute": (tarfile.TarInfo("/tmp/lamina_evil.txt"), "would be written outside"),
    "symlink_out": (symlink("link", "../../outside"), "symbolic link to '../../outside'"),
    "symlink_abs": (symlink("link", "/etc/passwd"), "symbolic link to '/etc/passwd'"),
    "hardlink_out": (symlink("hard", "../secret", tarfile.LNKTYPE), "hard link to '../secret'"),
}


@pytest.mark.parametrize("attack", sorted(TAR_ATTACKS))
def test_tar_members_escaping_the_destination_are_refused(server, home, attack):
    info, reason = TAR_ATTACKS[attack]
    archive = tar_with(server.root / "evil.tgz", info, b"pwned" if info.isfile() else b"")
    with pytest.raises(UnsafeArchiveError, match=reason):
        download_data(f"{server.url}/evil.tgz", sha256=sha(archive.read_bytes()))
    assert not (home / "data" / "evil").exists()
    assert not (home / "evil.txt").exists()
    assert not Path("/tmp/lamina_evil.txt").exists()
    assert leftovers(home / "data") == []


@pytest.mark.parametrize("name", ["../evil.txt", "/abs_evil.txt", "a/../../evil.txt"])
def test_zip_members_escaping_the_destination_are_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    make_zip(archive, {"fine.txt": b"ok", name: b"pwned"})
    with pytest.raises(UnsafeArchiveError, match=r"member .* would be written outside"):
        extract_archive(archive, tmp_path / "out" / "evil")
    assert not (tmp_path / "out" / "evil").exists()
    assert not (tmp_path / "evil.txt").exists()
    assert leftovers(tmp_path / "out") == []


def test_zip_symlink_pointing_outside_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        info = zipfile.ZipInfo("link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(info, "../../etc")
    with pytest.raises(UnsafeArchiveError, match="symbolic link to '../../etc'"):
        extract_archive(archive, tmp_path / "out" / "link")


def test_a_corrupt_archive_is_a_clear_error(tmp_path):
    (tmp_path / "broken.tgz").write_bytes(b"not a tar file at all")
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        extract_archive(tmp_path / "broken.tgz", tmp_path / "broken")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("python_filter", [True, False])
def test_a_chain_of_links_escaping_only_when_followed_is_refused(
    tmp_path, monkeypatch, python_filter
):
    if not python_filter:  # as on Pythons whose "data" filter misses link chains, or lacks one
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    archive = tmp_path / "chain.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(symlink("a", "."))
        tar.addfile(symlink("x", "a/.."))  # lexically inside; really the parent folder
        evil = tarfile.TarInfo("x/evil.txt")
        evil.size = 5
        tar.addfile(evil, io.BytesIO(b"pwned"))
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeArchiveError, match="refusing to unpack"):
        extract_archive(archive, tmp_path / "out" / "chain")
    assert not (tmp_path / "out" / "evil.txt").exists()
    assert not (tmp_path / "out" / "chain").exists()
    assert leftovers(tmp_path / "out") == []


def test_links_that_stay_inside_through_other_links_are_unpacked(tmp_path):
    archive = tmp_path / "ok.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.addfile(symlink("data/latest", "v2"))
        tar.addfile(symlink("data/current", "latest/../v2"))
        info = tarfile.TarInfo("data/v2/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"ok"))
    out = extract_archive(archive, tmp_path / "out")
    assert (out / "data" / "current" / "a.txt").read_bytes() == b"ok"
