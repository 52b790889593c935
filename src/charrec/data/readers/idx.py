"""IDX files (MNIST, every EMNIST split), gzipped or raw.

Format: two zero bytes, a type code (0x08 = uint8), the number of dimensions, then one
big-endian uint32 per dimension, then the data. Images have magic 2051 (3 dims), labels
2049 (1 dim). EMNIST stores every image transposed; `read_idx_images(..., transposed=True)`
returns them upright.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from charrec.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's content, decompressed if it is gzip (detected by content, not name)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def parse_idx(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into a uint8 array of the shape its header declares."""
    if len(data) < 4:
        raise DataError(f"{source}: too short to be an IDX file ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(f"{source}: not an IDX file (bad magic {data[:4].hex()})")
    type_code, ndim = data[2], data[3]
    if type_code != 0x08:
        raise DataError(f"{source}: IDX element type 0x{type_code:02x} is not uint8 (0x08)")
    header_end = 4 + 4 * ndim
    if ndim == 0 or len(data) < header_end:
        raise DataError(f"{source}: IDX header is truncated")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(data) - header_end
    if actual != expected:
        raise DataError(
            f"{source}: IDX header declares {shape} = {expected} bytes of data "
            f"but the file holds {actual} (truncated or corrupt)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_end).reshape(shape)


def idx_magic(data: bytes) -> int:
    return int.from_bytes(data[:4], "big") if len(data) >= 4 else -1


def read_idx_images(path: str | os.PathLike[str], transposed: bool = False) -> np.ndarray:
    """Images N×rows×cols as uint8, upright (transposes them back if stored transposed)."""
    data = read_bytes(path)
    if idx_magic(data) != IMAGES_MAGIC:
        raise DataError(
            f"{path}: wrong IDX magic {idx_magic(data)} for an image file (expected {IMAGES_MAGIC})"
        )
    images = parse_idx(data, str(path))
    if transposed:
        images = images.transpose(0, 2, 1)
    return np.ascontiguousarray(images)


def read_idx_labels(path: str | os.PathLike[str]) -> np.ndarray:
    """Labels as int64, exactly as stored (no offset applied)."""
    data = read_bytes(path)
    if idx_magic(data) != LABELS_MAGIC:
        raise DataError(
            f"{path}: wrong IDX magic {idx_magic(data)} for a label file (expected {LABELS_MAGIC})"
        )
    return parse_idx(data, str(path)).astype(np.int64)


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, compress: bool | None = None
) -> None:
    """Write a uint8 array as IDX (gzip if the name ends in .gz); used for exports and tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.tobytes()
    path = Path(path)
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
