"""Photo handling: limits, type checks, content addressing and EXIF GPS (core.photos via the API)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from fractions import Fraction
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from civicloop.core.errors import InputError
from civicloop.core.photos import AttachmentStore, UploadTooLargeError, gps_from_exif
from civicloop.runtime import Platform
from tests.helpers import element, login, report_body


def jpeg(*, colour: str = "red", gps: tuple[float, float] | None = None) -> bytes:
    """A real JPEG; with ``gps=(lon, lat)`` an EXIF GPS block in degrees/minutes/seconds."""
    img = Image.new("RGB", (32, 24), colour)
    exif = Image.Exif()
    if gps is not None:
        lon, lat = gps

        def dms(v: float) -> tuple[Fraction, Fraction, Fraction]:
            v = abs(v)
            d = int(v)
            m = int((v - d) * 60)
            s = Fraction(round((v - d - m / 60) * 3600 * 1000), 1000)
            return (Fraction(d), Fraction(m), s)

        exif[0x8825] = {
            1: "N" if lat >= 0 else "S",
            2: dms(lat),
            3: "E" if lon >= 0 else "W",
            4: dms(lon),
        }
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(out, "PNG")
    return out.getvalue()


def _case(client: TestClient, platform: Platform) -> str:
    r = client.post(
        "/api/v1/cases",
        json=report_body(platform, element(platform)),
        headers=login(client, "citizen"),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _upload(
    client: TestClient, cid: str, h: dict[str, str], name: str, data: bytes, ctype: str
) -> object:
    return client.post(
        f"/api/v1/cases/{cid}/evidence", headers=h, files={"file": (name, data, ctype)}
    )


def test_oversized_file_is_refused_naming_the_field_and_limit(
    client: TestClient, platform: Platform
) -> None:
    platform.settings = dataclasses.replace(platform.settings, max_upload_bytes=4096)
    cid = _case(client, platform)
    big = jpeg() + b"\x00" * 5000
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=login(client, "operator"),
        files={"file": ("big.jpg", big, "image/jpeg")},
    )
    assert r.status_code == 413
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["field"] == "file" and body["rule"] == "max_size" and body["limit_bytes"] == 4096
    folder = platform.settings.data_dir / "attachments"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-written left


def test_wrong_content_type_and_wrong_magic_are_refused(
    client: TestClient, platform: Platform
) -> None:
    cid = _case(client, platform)
    op = login(client, "operator")
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=op,
        files={"file": ("notes.txt", b"hello", "text/plain")},
    )
    assert r.status_code == 422 and r.json()["field"] == "file"
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=op,
        files={"file": ("photo.jpg", png(), "image/jpeg")},  # a PNG claiming to be a JPEG
    )
    assert r.status_code == 422 and r.json()["rule"] == "content_matches_type"
    # JPEG magic but not an image: Pillow refuses to decode it
    r = client.post(
        f"/api/v1/cases/{cid}/evidence",
        headers=op,
        files={"file": ("photo.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 50, "image/jpeg")},
    )
    assert r.status_code == 422 and r.json()["rule"] == "image_decodes"
    detail = client.get(f"/api/v1/cases/{cid}", headers=op).json()
    assert not any(n.get("attachment") for n in detail["notes"])


def test_the_same_photo_twice_is_stored_once(client: TestClient, platform: Platform) -> None:
    cid = _case(client, platform)
    op = login(client, "operator")
    photo = jpeg(colour="green")
    for _ in range(2):
        r = client.post(
            f"/api/v1/cases/{cid}/evidence",
            headers=op,
            files={"file": ("p.jpg", photo, "image/jpeg")},
        )
        assert r.status_code == 200, r.text
    files = [f for f in (platform.settings.data_dir / "attachments").iterdir()]
    assert len(files) == 1 and files[0].read_bytes() == photo
    detail = client.get(f"/api/v1/cases/{cid}", headers=op).json()
    shas = [n["attachment"]["sha256"] for n in detail["notes"] if n.get("attachment")]
    assert len(shas) == 2 and shas[0] == shas[1] == files[0].name
    dl = client.get(f"/api/v1/cases/{cid}/attachments/{shas[0]}", headers=op)
    assert dl.status_code == 200 and dl.content == photo


def test_exif_gps_is_read_from_a_jpeg() -> None:
    lon, lat = 121.5443, 31.2215
    got = gps_from_exif(jpeg(gps=(lon, lat)))
    assert got is not None
    assert got[0] == pytest.approx(lon, abs=1e-5) and got[1] == pytest.approx(lat, abs=1e-5)
    west = gps_from_exif(jpeg(gps=(-0.1276, -51.5072)))
    assert west is not None and west[0] < 0 and west[1] < 0
    assert gps_from_exif(jpeg()) is None  # no GPS block
    assert gps_from_exif(b"not an image") is None


def test_store_streams_in_chunks_and_stops_at_the_limit(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path / "att", max_bytes=3 * 1024 * 1024)

    class Upload:
        """An upload far larger than the limit; counts what was read."""

        def __init__(self) -> None:
            self.read_bytes = 0

        async def read(self, size: int = -1) -> bytes:
            assert 0 < size <= 1024 * 1024  # never asked for everything at once
            self.read_bytes += size
            return b"\xff\xd8\xff" + b"\x00" * (size - 3)

    up = Upload()
    with pytest.raises(UploadTooLargeError):
        asyncio.run(store.put_upload(up, "image/jpeg"))
    assert up.read_bytes <= 4 * 1024 * 1024  # stopped right after the limit
    assert list((tmp_path / "att").iterdir()) == []
    with pytest.raises(InputError):
        store.put_bytes(b"", "image/png")
    stored = store.put_bytes(png(), "image/png")
    again = store.put_bytes(png(), "image/png")
    assert stored.is_new and not again.is_new and store.path(stored.sha256) == stored.path
    assert store.path("../../etc/passwd") is None


def test_a_body_over_the_request_limit_is_refused_before_it_is_read(platform: Platform) -> None:
    from civicloop.app import create_app

    platform.settings = dataclasses.replace(platform.settings, max_upload_bytes=1000)
    limit = 5 * 1000 + 1024 * 1024
    with TestClient(create_app(platform)) as c:
        h = {**login(c, "gridworker"), "Content-Type": "multipart/form-data; boundary=b"}
        declared = c.post("/api/v1/patrols", content=b"x" * (limit + 1), headers=h)
        assert declared.status_code == 413
        assert declared.json()["field"] == "body" and declared.json()["limit_bytes"] == limit

        def chunks():  # no Content-Length: a file part that never ends, counted as it arrives
            yield (
                b'--b\r\nContent-Disposition: form-data; name="photos"; filename="a.jpg"\r\n'
                b"Content-Type: image/jpeg\r\n\r\n"
            )
            for _ in range(limit // 65536 + 2):
                yield b"y" * 65536

        streamed = c.post("/api/v1/patrols", content=chunks(), headers=h)
        assert streamed.status_code == 413, streamed.text
        small = c.post("/api/v1/nearby", params={"lon": 0, "lat": 0}, content=b"{}")
        assert small.status_code != 413
