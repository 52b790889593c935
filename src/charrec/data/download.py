"""Download official data set archives, resumably, and extract only the files asked for.

A fetchable data set is one entry of `FETCHABLE`: an `Archive` (mirrors tried in order and
the checksum the file must have) plus, per part (an EMNIST split), the archive members to
extract. `fetch("emnist", ["letters"])`:

1. skips every wanted file already present and valid in the data directory;
2. downloads the archive to `<data_dir>/downloads/<name>.part`, resuming a partial file with
   an HTTP Range request, and renames it only once its checksum matches;
3. extracts each wanted member to a temporary file, checks it (official sha256 where known,
   else its format) and only then moves it to `<data_dir>/<folder>/<name>`.

Nothing that looks complete is ever left half-written. Only the standard library speaks
HTTP, so there is nothing to install.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import os
import re
import shutil
import socket
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from charrec import __version__
from charrec.data.checksums import KNOWN_SHA256
from charrec.data.location import resolve_data_dir
from charrec.data.readers.idx import IMAGES_MAGIC, LABELS_MAGIC
from charrec.data.registry import EMNIST_FOLDERS
from charrec.errors import ConfigError, DataError, unknown_choice
from charrec.fileio import atomic_path

DOWNLOAD_FOLDER = "downloads"
DEFAULT_TIMEOUT = 30.0
_CHUNK = 1 << 16
_USER_AGENT = f"charrec/{__version__} (Python urllib)"

# Official sha256 of archive members, by file name; members not listed are checked by format.
MEMBER_SHA256: dict[str, str] = {
    name: digest for name, digest in KNOWN_SHA256.items() if name.startswith("emnist-")
}


@dataclass(frozen=True)
class Archive:
    """A file to download: its mirrors, tried in order, and the checksum it must have."""

    filename: str
    urls: tuple[str, ...]
    md5: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class Member:
    """One file inside an archive; an optional one is extracted only if the archive has it."""

    path: str
    required: bool = True

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class FetchSpec:
    """A data set that can be downloaded: one archive, and which members each part needs."""

    name: str
    description: str
    archive: Archive
    # part -> the members it needs; extracted flat into <data_dir>/<folder>/
    parts: dict[str, tuple[Member, ...]]
    folder: str
    # Folders of the data directory where a file already counts as present.
    search_folders: tuple[str, ...] = ()

    def members(self, parts: Iterable[str]) -> list[Member]:
        """The members of the given parts, each once, in a stable order."""
        seen: dict[str, Member] = {}
        for part in parts:
            for member in self.parts[part]:
                seen.setdefault(member.name, member)
        return list(seen.values())


@dataclass
class FetchResult:
    """What `fetch` did: files extracted now, files that were already there, the archive kept."""

    folder: Path
    extracted: list[Path] = field(default_factory=list)
    present: list[Path] = field(default_factory=list)
    archive: Path | None = None


EMNIST_SPLITS = ("balanced", "byclass", "bymerge", "digits", "letters", "mnist")


def _emnist_members(split: str) -> tuple[Member, ...]:
    idx = tuple(
        Member(f"gzip/emnist-{split}-{part}-{kind}-ubyte.gz")
        for part in ("train", "test")
        for kind in ("images-idx3", "labels-idx1")
    )
    return (*idx, Member(f"gzip/emnist-{split}-mapping.txt", required=False))


EMNIST = FetchSpec(
    name="emnist",
    description="EMNIST, every split (NIST's gzip.zip, about 536 MB)",
    archive=Archive(
        filename="gzip.zip",
        urls=(
            "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
            "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip",
        ),
        md5="58c8d27c78d21e728a6bc7b3cc06412e",
    ),
    parts={split: _emnist_members(split) for split in EMNIST_SPLITS},
    folder="emnist",
    search_folders=EMNIST_FOLDERS,
)

FETCHABLE: dict[str, FetchSpec] = {spec.name: spec for spec in (EMNIST,)}


def get_fetch_spec(name: str) -> FetchSpec:
    """The fetchable data set of that name (a ConfigError listing the valid ones otherwise)."""
    try:
        return FETCHABLE[name]
    except KeyError:
        raise unknown_choice("data set to fetch", name, list(FETCHABLE)) from None


# --- fetch: the whole job -----------------------------------------------------------


def fetch(
    name: str | FetchSpec,
    parts: Iterable[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    urls: Iterable[str] | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    keep_archive: bool = False,
    member_sha256: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    console: Console | None = None,
) -> FetchResult:
    """Make the files of `parts` (default: all) of a data set present and valid in `data_dir`.

    `urls` replace the archive's mirrors; `md5`/`sha256`, when either is given, replace its
    checksum. `member_sha256` maps member file names to their expected sha256 (default: the
    official ones known). The downloaded archive is deleted after extraction unless
    `keep_archive`; an archive already in the download folder is used and left alone.
    `console` receives progress and messages; None keeps quiet.
    """
    spec = get_fetch_spec(name) if isinstance(name, str) else name
    wanted = resolve_parts(spec, parts)
    archive = _override(spec.archive, urls, md5, sha256)
    known = MEMBER_SHA256 if member_sha256 is None else member_sha256
    root = resolve_data_dir(data_dir)
    folder = root / spec.folder

    result = FetchResult(folder=folder)
    missing: list[Member] = []
    for member in spec.members(wanted):
        found = _find_valid(root, spec, member, known.get(member.name))
        if found is not None:
            _say(console, f"already present: {found}")
            result.present.append(found)
        else:
            missing.append(member)
    # An optional file the archive may lack (a mapping) is not worth a download of its own.
    if not any(member.required for member in missing):
        return result

    downloads = root / DOWNLOAD_FOLDER
    archive_path = downloads / archive.filename
    downloaded = False
    if archive_path.is_file() and _archive_ok(archive_path, archive, console):
        _say(console, f"using {archive_path}")
    else:
        download(archive, downloads, timeout=timeout, console=console)
        downloaded = True

    result.extracted = extract(archive_path, missing, folder, known, console=console)
    if downloaded and not keep_archive:
        archive_path.unlink(missing_ok=True)
    else:
        result.archive = archive_path
    return result


def resolve_parts(spec: FetchSpec, parts: Iterable[str] | None) -> list[str]:
    """The parts asked for, each once (default: all), or a ConfigError naming a bad one."""
    wanted = list(dict.fromkeys(parts)) if parts else list(spec.parts)
    for part in wanted:
        if part not in spec.parts:
            raise unknown_choice(f"split of {spec.name}", part, list(spec.parts))
    return wanted


def _override(
    archive: Archive, urls: Iterable[str] | None, md5: str | None, sha256: str | None
) -> Archive:
    """The archive with the caller's mirrors and checksum, after checking they make sense."""
    if urls:
        urls = tuple(urls)
        for url in urls:
            if not re.match(r"https?://", url):
                raise ConfigError(f"--url {url!r}: only http:// and https:// URLs are supported")
        archive = dataclasses.replace(archive, urls=urls)
    if md5 is not None or sha256 is not None:
        for label, digest, length in (("md5", md5, 32), ("sha256", sha256, 64)):
            if digest is not None and not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", digest):
                raise ConfigError(f"--{label} {digest!r}: expected {length} hexadecimal digits")
        archive = dataclasses.replace(
            archive,
            md5=md5.lower() if md5 else None,
            sha256=sha256.lower() if sha256 else None,
        )
    return archive


def _find_valid(root: Path, spec: FetchSpec, member: Member, sha256: str | None) -> Path | None:
    """The member's file where the registry would read it, if it is there and valid."""
    for sub in dict.fromkeys((spec.folder, *spec.search_folders)):
        path = root / sub / member.name
        if path.is_file():
            try:
                check_member(path, member.name, sha256)
            except DataError:
                continue  # a bad copy is replaced by a fresh one in spec.folder
            return path
    return None


def _archive_ok(path: Path, archive: Archive, console: Console | None) -> bool:
    """Whether an archive already downloaded can be used; a bad one is deleted."""
    try:
        verify_checksum(path, archive)
    except DataError as exc:
        _say(console, f"{exc}; downloading it again")
        path.unlink(missing_ok=True)
        return False
    return True


# --- download: resumable HTTP with mirrors ---------------------------------------------


class _Interrupted(Exception):
    """The connection ended before the whole file arrived; the .part keeps what came."""


class _Restart(Exception):
    """The partial file cannot be continued; it was deleted, start this URL again."""


def download(
    archive: Archive,
    dest_dir: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    console: Console | None = None,
) -> Path:
    """Download `archive` into `dest_dir`, resuming `<filename>.part`; return the verified file.

    Mirrors are tried in order; the next one is used when one cannot be reached, answers an
    HTTP error or drops the connection (it continues the partial file). The file gets its
    final name only after its checksum matches; a mismatch deletes the partial file.
    """
    dest_dir = Path(dest_dir)
    final = dest_dir / archive.filename
    part = dest_dir / (archive.filename + ".part")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest_dir}: cannot create folder ({exc.strerror or exc})") from None

    failures: list[str] = []
    with _progress(console) as progress:
        # Shown once a server answers, so that failures print no empty bar.
        task = progress.add_task(archive.filename, total=None, visible=False)
        for url in archive.urls:
            try:
                _download_url(url, part, timeout, progress, task)
            except _NETWORK_ERRORS as exc:
                failures.append(f"{url} ({_reason(exc)})")
                continue
            break
        else:
            raise DataError(_failure_message(archive, final, part, failures))

    _say(console, f"checking {archive.filename}")
    try:
        verify_checksum(part, archive)
    except DataError as exc:
        part.unlink(missing_ok=True)
        raise DataError(
            f"{exc}: the download is corrupt and was deleted; run the command again to "
            "download it afresh"
        ) from None
    os.replace(part, final)
    return final


# What makes us try the next mirror (a DataError, e.g. a full disk, stops at once).
_NETWORK_ERRORS = (_Interrupted, urllib.error.URLError, http.client.HTTPException, OSError)


def _download_url(url: str, part: Path, timeout: float, progress: Progress, task: TaskID) -> None:
    """Fetch `url` into `part`; when the partial file cannot be continued, once from scratch."""
    try:
        _download_once(url, part, timeout, progress, task)
    except _Restart:
        try:
            _download_once(url, part, timeout, progress, task)
        except _Restart:
            raise _Interrupted("the server would not send the file from its start") from None


def _download_once(url: str, part: Path, timeout: float, progress: Progress, task: TaskID) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": _USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code != 416 or not have:
            raise
        # Range not satisfiable: the partial file is already complete, or it is not this file.
        total = _total_from_content_range(exc.headers.get("Content-Range"))
        if total == have:
            progress.update(task, total=total, completed=have)
            return
        part.unlink(missing_ok=True)
        raise _Restart from None

    with response:
        if response.status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != have:
                part.unlink(missing_ok=True)
                raise _Restart
            progress.console.print(f"resuming at {_mb(have)}", highlight=False)
        else:
            # The whole file (the server ignored Range, or there was no partial): from byte 0.
            if have:
                progress.console.print("the server cannot resume; starting over", highlight=False)
            have = 0
            length = response.headers.get("Content-Length", "")
            total = int(length) if length.isdigit() else None
        _check_space(part.parent, None if total is None else total - have)
        progress.update(task, total=total, completed=have, visible=True)
        try:
            out = open(part, "ab" if have else "wb")  # noqa: SIM115 - closed by `with out`
        except OSError as exc:
            raise DataError(f"{part}: cannot write ({exc.strerror or exc})") from None
        with out:
            while chunk := response.read(_CHUNK):
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise DataError(f"{part}: cannot write ({exc.strerror or exc})") from None
                progress.advance(task, len(chunk))
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Interrupted(f"connection closed after {_mb(size)} of {_mb(total)}")


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a `bytes START-END/TOTAL` header; None where absent."""
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value or "")
    if not match:
        return None, None
    total = match.group(2)
    return int(match.group(1)), (int(total) if total.isdigit() else None)


def _total_from_content_range(value: str | None) -> int | None:
    match = re.fullmatch(r"\s*bytes\s+\*/(\d+)\s*", value or "")
    return int(match.group(1)) if match else None


def _check_space(folder: Path, needed: int | None) -> None:
    if needed is None:
        return
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise DataError(f"{folder}: the download needs {_mb(needed)} but only {_mb(free)} is free")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    return str(exc) or type(exc).__name__


def _failure_message(archive: Archive, final: Path, part: Path, failures: list[str]) -> str:
    message = (
        f"could not download {archive.filename} from {', '.join(failures)}; "
        f"download it by hand and put it in {final}"
    )
    if part.exists() and part.stat().st_size:
        message += (
            f" (the {_mb(part.stat().st_size)} received so far are kept in {part}; "
            "run the command again to resume)"
        )
    return message


def verify_checksum(path: Path, archive: Archive) -> None:
    """Raise a DataError unless `path` has the archive's md5 and sha256 (those it declares)."""
    wanted = {"md5": archive.md5, "sha256": archive.sha256}
    digests = {algo: hashlib.new(algo) for algo, value in wanted.items() if value}
    if not digests:
        return
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            for digest in digests.values():
                digest.update(block)
    for algo, digest in digests.items():
        actual = digest.hexdigest()
        if actual != wanted[algo]:
            raise DataError(f"{path}: {algo} {actual} is not the expected {wanted[algo]}")


# --- extraction and member checks ----------------------------------------------------


def extract(
    archive_path: Path,
    members: Iterable[Member],
    folder: Path,
    known_sha256: Mapping[str, str] | None = None,
    *,
    console: Console | None = None,
) -> list[Path]:
    """Extract `members` flat into `folder`, each checked before it gets its final name."""
    known = MEMBER_SHA256 if known_sha256 is None else known_sha256
    extracted: list[Path] = []
    try:
        with zipfile.ZipFile(archive_path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            by_path = {i.filename: i for i in infos}
            by_name = {PurePosixPath(i.filename).name: i for i in infos}
            for member in members:
                info = by_path.get(member.path) or by_name.get(member.name)
                if info is None:
                    if member.required:
                        raise DataError(f"{archive_path}: the archive has no {member.path}")
                    continue
                target = folder / member.name
                with atomic_path(target) as tmp:
                    with zf.open(info) as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                    label = f"{member.path} in {archive_path}"
                    check_member(tmp, member.name, known.get(member.name), label=label)
                _say(console, f"extracted: {target}")
                extracted.append(target)
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive_path}: not a valid zip archive ({exc})") from None
    except OSError as exc:
        raise DataError(f"{folder}: cannot extract ({exc.strerror or exc})") from None
    return extracted


def check_member(
    path: Path, name: str, sha256: str | None = None, *, label: str | None = None
) -> None:
    """Raise a DataError unless the file `name` is the official one (sha256) or well formed.

    `label` names the file in messages (default: `path`).
    """
    label = label or str(path)
    if sha256 is not None:
        actual = _sha256(path)
        if actual != sha256:
            raise DataError(f"{label}: sha256 {actual} is not the official {sha256}")
        return
    if name.endswith("-ubyte.gz"):
        expected = IMAGES_MAGIC if "idx3" in name else LABELS_MAGIC
        _check_idx_gz(path, label, expected)
    elif name.endswith("mapping.txt"):
        _check_mapping(path, label)


def _check_idx_gz(path: Path, label: str, magic: int) -> None:
    """Stream the gzip: right IDX magic, and exactly as many bytes as the header declares."""
    try:
        with gzip.open(path, "rb") as handle:
            head = handle.read(4)
            found = int.from_bytes(head, "big") if len(head) == 4 else -1
            if found != magic:
                raise DataError(f"{label}: IDX magic {found} is not {magic}")
            ndim = head[3]
            dims = handle.read(4 * ndim)
            if len(dims) != 4 * ndim:
                raise DataError(f"{label}: IDX header is truncated")
            expected = 1
            for i in range(ndim):
                expected *= int.from_bytes(dims[4 * i : 4 * i + 4], "big")
            actual = 0
            while block := handle.read(1 << 20):
                actual += len(block)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{label}: corrupt or truncated gzip data ({exc})") from None
    if actual != expected:
        raise DataError(f"{label}: IDX header declares {expected} bytes of data, found {actual}")


def _check_mapping(path: Path, label: str) -> None:
    text = path.read_text(encoding="ascii", errors="replace")
    rows = [line.split() for line in text.splitlines() if line.strip()]
    if not rows or not all(len(r) >= 2 and all(x.isdigit() for x in r) for r in rows):
        raise DataError(f"{label}: not a class mapping (lines of 'label code')")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


# --- output ------------------------------------------------------------------------


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console or Console(quiet=True),  # messages printed through it stay quiet too
        disable=console is None,
    )


def _say(console: Console | None, message: str) -> None:
    if console is not None:
        console.print(message, soft_wrap=True, highlight=False, markup=False)


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"
