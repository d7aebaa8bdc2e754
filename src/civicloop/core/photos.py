"""Photos and other attachments: one content-addressed store on disk, with limits and checks.

Why: every channel (evidence uploads, citizen reports, patrols) receives files from the
public, so one place decides what is accepted and how it is kept.

* **Stored once**: a file lives at ``<data_dir>/attachments/<sha256>``; the same photo uploaded
  twice is one file. Writes go to a temporary file in the same folder and are renamed into
  place (atomic on POSIX), so a crash never leaves half a photo under a valid name.
* **Bounded**: an upload is read in 1 MiB chunks and refused as soon as it passes
  ``settings.max_upload_bytes`` (413, naming the field and the limit) — an oversized file is
  never held in memory whole.
* **Typed by content**: the declared content type must be one of ``ATTACHMENT_TYPES`` and the
  leading bytes must match it (a client's Content-Type alone is not trusted); JPEG and WEBP
  images must also decode with Pillow, so a ``.jpg`` that is not an image is refused.
  (PNG is checked by its 8-byte signature only, which already guards against transfer
  corruption; HEIC and MP4 by their ISO-BMFF ``ftyp`` box — Pillow cannot decode them.)
* **Located**: ``gps_from_exif`` reads the EXIF GPS position of a photo, used by intake when a
  report carries no location.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

# Pillow: the decoding check and EXIF GPS; already a dependency for images.
from PIL import Image, UnidentifiedImageError

from civicloop.core.errors import InputError

ATTACHMENT_TYPES = (
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "application/pdf",
    "video/mp4",
)
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic"})
# Types whose content Pillow must decode (see the module docstring for the others).
DECODE_CHECKED = {"image/jpeg": "JPEG", "image/webp": "WEBP"}
CHUNK_BYTES = 1024 * 1024
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


class UploadTooLargeError(InputError):
    """An upload larger than ``settings.max_upload_bytes``: 413 Content Too Large."""

    status = 413


class AsyncReadable(Protocol):
    """What an upload offers (Starlette's ``UploadFile``)."""

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    content_type: str
    path: Path
    is_new: bool  # False when the same content was already stored


def looks_like(content_type: str, head: bytes) -> bool:
    """Do the leading bytes match the declared type?"""
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type in ("video/mp4", "image/heic"):
        return head[4:8] == b"ftyp"  # ISO base media file: mp4, heic
    return head.startswith(_MAGIC.get(content_type, (b"\x00\x00never",)))


def _decodes(content_type: str, source: BinaryIO) -> bool:
    fmt = DECODE_CHECKED.get(content_type)
    if fmt is None:
        return True
    try:
        with Image.open(source) as img:
            if img.format != fmt:
                return False
            img.verify()  # walks the data without a full decode: cheap, catches garbage
        return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


class AttachmentStore:
    """The content-addressed folder, with the upload limit of the deployment."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path | None:
        """The stored file for a digest, or None (also for anything that is not a digest)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            return None
        target = self.root / sha256
        return target if target.is_file() else None

    def put_bytes(self, data: bytes, content_type: str, *, field: str = "file") -> StoredFile:
        """Check and store bytes already in hand (e.g. a photo sent inline by intake)."""
        self._check_type(content_type, field)
        sink = _Sink(self.root, self.max_bytes, field)
        try:
            sink.write(data)
            return sink.finish(content_type)
        finally:
            sink.discard()

    async def put_upload(
        self, upload: AsyncReadable, content_type: str, *, field: str = "file"
    ) -> StoredFile:
        """Stream an upload into the store in bounded chunks; refuse it when too large."""
        self._check_type(content_type, field)
        sink = _Sink(self.root, self.max_bytes, field)
        try:
            while chunk := await upload.read(CHUNK_BYTES):
                sink.write(chunk)
            return sink.finish(content_type)
        finally:
            sink.discard()

    @staticmethod
    def _check_type(content_type: str, field: str) -> None:
        if content_type not in ATTACHMENT_TYPES:
            raise InputError(
                f"不接受的文件类型 {content_type or 'unknown'} / "
                f"file type {content_type or 'unknown'} is not accepted",
                field=field,
                rule=f"one of {', '.join(ATTACHMENT_TYPES)}",
            )


class _Sink:
    """One upload on its way in: a temporary file, its hash and size so far."""

    def __init__(self, root: Path, limit: int, field: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root, self.limit, self.field = root, limit, field
        fd, name = tempfile.mkstemp(dir=root, prefix=".incoming-")
        self.tmp = Path(name)
        self.fh: BinaryIO | None = os.fdopen(fd, "w+b")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadTooLargeError(
                f"文件超过上传上限 {self.limit} 字节 / file is larger than {self.limit} bytes",
                field=self.field,
                rule="max_size",
                limit_bytes=self.limit,
            )
        assert self.fh is not None
        self.fh.write(chunk)
        self.digest.update(chunk)

    def finish(self, content_type: str) -> StoredFile:
        assert self.fh is not None
        if self.size == 0:
            raise InputError("文件为空 / file is empty", field=self.field, rule="non_empty")
        self.fh.flush()
        self.fh.seek(0)
        if not looks_like(content_type, self.fh.read(16)):
            raise InputError(
                f"文件内容不是 {content_type} / the file's content is not {content_type}",
                field=self.field,
                rule="content_matches_type",
            )
        self.fh.seek(0)
        if not _decodes(content_type, self.fh):
            raise InputError(
                f"文件不是可解码的图片 / the file is not a decodable {content_type} image",
                field=self.field,
                rule="image_decodes",
            )
        os.fsync(self.fh.fileno())
        self.fh.close()
        self.fh = None
        sha = self.digest.hexdigest()
        target = self.root / sha
        is_new = not target.exists()
        if is_new:  # content-addressed: the same photo twice is stored once
            self.tmp.replace(target)
        return StoredFile(
            sha256=sha, size=self.size, content_type=content_type, path=target, is_new=is_new
        )

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        self.tmp.unlink(missing_ok=True)


class NamedUpload(AsyncReadable, Protocol):
    """An upload with the client's file name and declared type (Starlette's ``UploadFile``)."""

    filename: str | None
    content_type: str | None


async def store_photos(
    store: AttachmentStore, uploads: list[NamedUpload], *, field: str, most: int
) -> tuple[list[dict[str, object]], tuple[float, float] | None]:
    """Check and store the photos of one report: their note metadata, and the first EXIF GPS.

    Refuses (naming ``field``) no photo, more than ``most``, a wrong type, a file that is not
    what it claims or over the size limit — before the caller writes anything else.
    """
    if not uploads or len(uploads) > most:
        raise InputError(f"send 1 to {most} photos", field=field, rule="count")
    metas: list[dict[str, object]] = []
    gps: tuple[float, float] | None = None
    for upload in uploads:
        content_type = (upload.content_type or "").split(";")[0].strip()
        stored = await store.put_upload(upload, content_type, field=field)
        metas.append(
            {
                "filename": Path(upload.filename or "photo").name[:200],
                "content_type": stored.content_type,
                "size": stored.size,
                "sha256": stored.sha256,
            }
        )
        if gps is None and stored.content_type in IMAGE_TYPES:
            gps = gps_from_exif(stored.path.read_bytes())
    return metas, gps


def attachment_store(data_dir: Path, max_bytes: int) -> AttachmentStore:
    """The deployment's store: ``attachment_store(p.settings.data_dir, p.settings.max_upload_bytes)``."""
    return AttachmentStore(data_dir / "attachments", max_bytes=max_bytes)


_GPS_IFD = 0x8825
_LAT_REF, _LAT, _LON_REF, _LON = 1, 2, 3, 4


def _degrees(dms: object) -> float:
    if not isinstance(dms, tuple | list) or len(dms) != 3:
        raise ValueError("GPS coordinate is not degrees/minutes/seconds")
    d, m, s = (float(x) for x in dms)
    return d + m / 60.0 + s / 3600.0


def gps_from_exif(data: bytes) -> tuple[float, float] | None:
    """The (lon, lat) in the photo's EXIF GPS block, or None when absent or unreadable.

    EXIF stores each coordinate as three rationals (degrees, minutes, seconds) with a
    reference letter: S and W make it negative. Coordinates are WGS-84 as phones record them.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            gps = img.getexif().get_ifd(_GPS_IFD)
        if not gps or _LAT not in gps or _LON not in gps:
            return None
        lat = _degrees(gps[_LAT])
        lon = _degrees(gps[_LON])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, ZeroDivisionError, TypeError):
        return None
    if str(gps.get(_LAT_REF, "N")).strip().upper().startswith("S"):
        lat = -lat
    if str(gps.get(_LON_REF, "E")).strip().upper().startswith("W"):
        lon = -lon
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 and lon == 0.0):
        return None  # 0,0 is what cameras without a fix write
    return lon, lat
