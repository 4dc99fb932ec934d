"""Images for upload tests: a phone photo carrying EXIF (camera, orientation, GPS) and a comment,
and the check that a served image carries none of it."""

from __future__ import annotations

import io

from PIL import ExifTags, Image


def gps_jpeg() -> bytes:
    """A 40x20 JPEG from a "phone": EXIF with camera make, orientation 6 (rotate 90°) and GPS
    coordinates in Berlin."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 3.0),
    }
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (20, 160, 40)).save(out, format="JPEG", exif=exif.tobytes(), comment=b"home sweet home")
    return out.getvalue()


def assert_no_metadata(data: bytes) -> Image.Image:
    """``data`` is a JPEG without EXIF (no GPS, no camera), XMP or comment; returns it opened."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert b"Exif" not in data and b"PhoneCo" not in data and b"home sweet home" not in data
    assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in image.info and "comment" not in image.info
    return image
