"""`charrec data fetch`: resumable download, mirrors, checksums, extraction (local server)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from charrec.cli import main
from charrec.data import download
from charrec.data.download import EMNIST, fetch
from charrec.data.readers.idx import read_idx_images, read_idx_labels, write_idx
from charrec.errors import ConfigError, DataError

SPLITS = ("digits", "mnist", "balanced")


# --- a tiny EMNIST archive with the official member names --------------------------------


def _split_arrays(split: str, part: str) -> tuple[np.ndarray, np.ndarray]:
    seed = sum(map(ord, f"{split}-{part}"))
    rng = np.random.default_rng(seed)
    count = 5 if part == "train" else 3
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(
        0, 10, count, dtype=np.uint8
    )


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """gzip.zip bytes: gzip/emnist-{split}-... for SPLITS, mapping files for all but balanced."""
    folder = tmp_path_factory.mktemp("zip")
    path = folder / "gzip.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for split in SPLITS:
            for part in ("train", "test"):
                images, labels = _split_arrays(split, part)
                for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
                    name = f"emnist-{split}-{part}-{kind}-ubyte.gz"
                    write_idx(folder / name, array)
                    zf.write(folder / name, f"gzip/{name}")
            if split != "balanced":
                zf.writestr(f"gzip/emnist-{split}-mapping.txt", "0 48\r\n1 49\r\n")
    return path.read_bytes()


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- a local HTTP server that supports Range and misbehaves on request -------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.not_found: set[str] = set()
        self.ignore_range = False
        self.drop_after: int | None = None  # close the connection after N bytes, once
        self.requests: list[tuple[str, str | None]] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def ranges(self) -> list[str | None]:
        return [r for _, r in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = 5  # a stalled client cannot hold a thread for long

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        range_header = self.headers.get("Range")
        server.requests.append((self.path, range_header))
        body = server.files.get(self.path)
        if body is None or self.path in server.not_found:
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and not server.ignore_range:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if server.drop_after is not None:
            payload, server.drop_after = payload[: server.drop_after], None
            self.close_connection = True
        self.wfile.write(payload)


@pytest.fixture
def server(archive: bytes) -> Iterator[_Server]:
    srv = _Server()
    srv.files["/gzip.zip"] = archive
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _fetch(server: _Server, data_dir: Path, archive: bytes, **kwargs: object):
    kwargs.setdefault("urls", [server.url("/gzip.zip")])
    kwargs.setdefault("md5", _md5(archive))
    return fetch("emnist", kwargs.pop("parts", ["digits"]), data_dir, timeout=5, **kwargs)


def _assert_split_extracted(data_dir: Path, split: str) -> None:
    folder = data_dir / "emnist"
    for part in ("train", "test"):
        images, labels = _split_arrays(split, part)
        got_images = read_idx_images(folder / f"emnist-{split}-{part}-images-idx3-ubyte.gz")
        got_labels = read_idx_labels(folder / f"emnist-{split}-{part}-labels-idx1-ubyte.gz")
        np.testing.assert_array_equal(got_images, images)
        np.testing.assert_array_equal(got_labels, labels)


def _leftovers(data_dir: Path) -> list[str]:
    """Files that look like part of a download or extraction in progress."""
    return sorted(p.name for p in data_dir.rglob("*") if p.name.endswith((".part", ".tmp", ".zip")))


# --- the library -------------------------------------------------------------------------


def test_fetch_extracts_only_the_requested_splits(server, archive, tmp_path):
    result = _fetch(server, tmp_path, archive, parts=["digits", "mnist"])

    _assert_split_extracted(tmp_path, "digits")
    _assert_split_extracted(tmp_path, "mnist")
    names = sorted(p.name for p in (tmp_path / "emnist").iterdir())
    assert names == sorted(
        [
            f"emnist-{s}-{p}-{k}-ubyte.gz"
            for s in ("digits", "mnist")
            for p in ("train", "test")
            for k in ("images-idx3", "labels-idx1")
        ]
        + ["emnist-digits-mapping.txt", "emnist-mnist-mapping.txt"]
    )
    assert len(result.extracted) == 10 and result.present == []
    assert result.archive is None and _leftovers(tmp_path) == []  # archive deleted after use
    assert server.ranges() == [None]


def test_optional_mapping_may_be_missing_from_the_archive(server, archive, tmp_path):
    _fetch(server, tmp_path, archive, parts=["balanced"])
    _assert_split_extracted(tmp_path, "balanced")
    assert not (tmp_path / "emnist" / "emnist-balanced-mapping.txt").exists()

    again = _fetch(server, tmp_path, archive, parts=["balanced"])
    assert len(server.requests) == 1 and len(again.present) == 4  # not fetched again for it


def test_files_already_present_are_not_downloaded_again(server, archive, tmp_path):
    _fetch(server, tmp_path, archive)
    server.requests.clear()

    again = _fetch(server, tmp_path, archive)

    assert server.requests == []
    assert again.extracted == [] and len(again.present) == 5


def test_an_invalid_present_file_is_replaced(server, archive, tmp_path):
    _fetch(server, tmp_path, archive)
    broken = tmp_path / "emnist" / "emnist-digits-test-images-idx3-ubyte.gz"
    broken.write_bytes(b"not gzip")

    result = _fetch(server, tmp_path, archive)

    assert result.extracted == [broken]
    _assert_split_extracted(tmp_path, "digits")


def test_interrupted_download_resumes_with_a_range_request(server, archive, tmp_path):
    server.drop_after = 1000
    with pytest.raises(DataError, match="run the command again to resume") as info:
        _fetch(server, tmp_path, archive)
    assert "connection closed after" in str(info.value)
    part = tmp_path / "downloads" / "gzip.zip.part"
    assert part.stat().st_size == 1000
    assert not (tmp_path / "emnist").exists() and not (tmp_path / "downloads" / "gzip.zip").exists()

    _fetch(server, tmp_path, archive)

    assert server.ranges() == [None, "bytes=1000-"]
    _assert_split_extracted(tmp_path, "digits")
    assert not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, archive, tmp_path):
    part = tmp_path / "downloads" / "gzip.zip.part"
    part.parent.mkdir()
    garbage = b"garbage that must not stay in front of the file"
    part.write_bytes(garbage)
    server.ignore_range = True

    _fetch(server, tmp_path, archive)

    assert server.ranges() == [f"bytes={len(garbage)}-"]  # asked to resume, got 200: restart
    _assert_split_extracted(tmp_path, "digits")


def test_416_with_a_complete_partial_file_uses_it(server, archive, tmp_path):
    part = tmp_path / "downloads" / "gzip.zip.part"
    part.parent.mkdir()
    part.write_bytes(archive)

    _fetch(server, tmp_path, archive)

    assert server.ranges() == [f"bytes={len(archive)}-"]
    _assert_split_extracted(tmp_path, "digits")


def test_416_with_an_oversized_partial_file_starts_over(server, archive, tmp_path):
    part = tmp_path / "downloads" / "gzip.zip.part"
    part.parent.mkdir()
    part.write_bytes(archive + b"extra")

    _fetch(server, tmp_path, archive)

    assert server.ranges() == [f"bytes={len(archive) + 5}-", None]
    _assert_split_extracted(tmp_path, "digits")


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/gzip.zip"


def test_falls_back_to_the_next_url(server, archive, tmp_path):
    server.files["/missing.zip"] = archive
    server.not_found.add("/missing.zip")
    urls = [_closed_port_url(), server.url("/missing.zip"), server.url("/gzip.zip")]

    _fetch(server, tmp_path, archive, urls=urls)

    assert [path for path, _ in server.requests] == ["/missing.zip", "/gzip.zip"]
    _assert_split_extracted(tmp_path, "digits")


def test_every_url_failing_names_each_and_says_where_to_put_the_file(server, archive, tmp_path):
    refused, missing = _closed_port_url(), server.url("/nope.zip")

    with pytest.raises(DataError) as info:
        _fetch(server, tmp_path, archive, urls=[refused, missing])

    message = str(info.value)
    assert f"from {refused} (" in message and f"{missing} (HTTP 404" in message
    assert f"put it in {tmp_path / 'downloads' / 'gzip.zip'}" in message
    assert _leftovers(tmp_path) == []


def test_corrupt_download_is_deleted_and_reported(server, archive, tmp_path):
    server.files["/gzip.zip"] = archive[:-10] + b"0123456789"

    with pytest.raises(DataError, match=r"md5 .* is not the expected .*deleted"):
        _fetch(server, tmp_path, archive)

    assert _leftovers(tmp_path) == []
    assert not (tmp_path / "emnist").exists()


def test_sha256_can_replace_the_md5(server, archive, tmp_path):
    good = hashlib.sha256(archive).hexdigest()
    _fetch(server, tmp_path, archive, md5=None, sha256=good)
    _assert_split_extracted(tmp_path, "digits")

    with pytest.raises(DataError, match="sha256"):
        _fetch(server, tmp_path / "other", archive, md5=None, sha256="0" * 64)


def test_a_member_with_the_wrong_sha256_is_not_left_behind(server, archive, tmp_path):
    bad = {"emnist-digits-test-labels-idx1-ubyte.gz": "0" * 64}

    with pytest.raises(DataError, match=r"emnist-digits-test-labels.*sha256 .* not the official"):
        _fetch(server, tmp_path, archive, member_sha256=bad, keep_archive=True)

    left = sorted(p.name for p in (tmp_path / "emnist").iterdir())
    assert "emnist-digits-test-labels-idx1-ubyte.gz" not in left
    assert not any(name.endswith(".tmp") for name in left)
    # The archive passed its own checksum, so it stays for the next try.
    assert (tmp_path / "downloads" / "gzip.zip").is_file()


def test_official_member_checksums_reject_a_fake_letters_file(tmp_path):
    fake = tmp_path / "gzip.zip"
    images = tmp_path / "emnist-letters-train-images-idx3-ubyte.gz"
    write_idx(images, np.zeros((2, 28, 28), np.uint8))
    with zipfile.ZipFile(fake, "w") as zf:
        zf.write(images, f"gzip/{images.name}")
    member = download.Member(f"gzip/{images.name}")

    with pytest.raises(DataError, match="not the official 6288f418"):
        download.extract(fake, [member], tmp_path / "out")
    assert not (tmp_path / "out" / images.name).exists()


def test_wrong_idx_magic_is_rejected(tmp_path):
    fake = tmp_path / "gzip.zip"
    labels_as_images = tmp_path / "emnist-digits-test-images-idx3-ubyte.gz"
    write_idx(labels_as_images, np.zeros(4, np.uint8))
    with zipfile.ZipFile(fake, "w") as zf:
        zf.write(labels_as_images, f"gzip/{labels_as_images.name}")

    with pytest.raises(DataError, match="IDX magic 2049 is not 2051"):
        download.extract(fake, [download.Member(f"gzip/{labels_as_images.name}")], tmp_path / "o")


def test_truncated_idx_member_is_rejected(tmp_path):
    path = tmp_path / "emnist-digits-test-images-idx3-ubyte.gz"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-28]))
    with pytest.raises(DataError, match="declares 2352 bytes of data, found 2324"):
        download.check_member(path, path.name)


def test_archive_missing_a_required_member(server, tmp_path):
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("gzip/readme.txt", "nothing here")
    server.files["/gzip.zip"] = empty.read_bytes()

    with pytest.raises(DataError, match=r"has no gzip/emnist-digits-train-images-idx3-ubyte\.gz"):
        _fetch(server, tmp_path / "data", empty.read_bytes())


def test_kept_archive_serves_a_later_fetch_without_network(server, archive, tmp_path):
    first = _fetch(server, tmp_path, archive, keep_archive=True)
    assert first.archive == tmp_path / "downloads" / "gzip.zip"
    server.requests.clear()

    later = _fetch(server, tmp_path, archive, parts=["mnist"])

    assert server.requests == []
    _assert_split_extracted(tmp_path, "mnist")
    assert later.archive == first.archive and first.archive.is_file()  # not ours to delete


def test_emnist_spec_matches_the_official_archive():
    assert EMNIST.archive.urls[0] == "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    assert "itl.nist.gov" in EMNIST.archive.urls[1]
    assert EMNIST.archive.md5 == "58c8d27c78d21e728a6bc7b3cc06412e"
    assert set(EMNIST.parts) == {"balanced", "byclass", "bymerge", "digits", "letters", "mnist"}
    names = {m.name for m in EMNIST.members(["letters"])}
    assert "emnist-letters-test-images-idx3-ubyte.gz" in names
    assert download.MEMBER_SHA256["emnist-letters-test-images-idx3-ubyte.gz"].startswith("50f0e9")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"parts": ["letterz"]}, "unknown split of emnist 'letterz'"),
        ({"md5": "abc"}, "--md5 'abc': expected 32 hexadecimal digits"),
        ({"urls": ["ftp://example.org/gzip.zip"]}, "only http:// and https://"),
    ],
)
def test_bad_arguments_are_config_errors(server, archive, tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        _fetch(server, tmp_path, archive, **kwargs)
    assert server.requests == []


# --- the command line --------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_fetches_and_extracts(server, archive, tmp_path, capsys):
    argv = ["data", "fetch", "emnist", "--split", "digits", "-s", "mnist,balanced"]
    argv += ["--data-dir", str(tmp_path), "--url", server.url("/gzip.zip")]
    argv += ["--md5", _md5(archive)]

    assert _run(argv) == 0
    for split in ("digits", "mnist", "balanced"):
        _assert_split_extracted(tmp_path, split)
    assert "done: 14 extracted, 0 already present" in capsys.readouterr().out

    assert _run(argv) == 0
    assert "already present" in capsys.readouterr().out


def test_cli_reports_a_corrupt_download_on_one_line(server, archive, tmp_path, capsys):
    server.files["/gzip.zip"] = archive[::-1]
    argv = ["data", "fetch", "emnist", "-s", "digits", "--data-dir", str(tmp_path)]
    argv += ["--url", server.url("/gzip.zip"), "--md5", _md5(archive)]

    assert _run(argv) == 2

    err = capsys.readouterr().err
    assert err.startswith("error:") and "md5" in err and "Traceback" not in err
    assert _leftovers(tmp_path) == []


def test_cli_unknown_data_set(capsys):
    assert _run(["data", "fetch", "cifar10"]) == 2
    assert "unknown data set to fetch 'cifar10'; choose one of: emnist" in capsys.readouterr().err


def test_files_where_the_registry_also_looks_count_as_present(server, archive, tmp_path):
    _fetch(server, tmp_path, archive)
    (tmp_path / "emnist").rename(tmp_path / "gzip")  # as NIST's archive unpacks
    server.requests.clear()

    result = _fetch(server, tmp_path, archive)

    assert server.requests == [] and result.extracted == []
    assert {p.parent.name for p in result.present} == {"gzip"}
