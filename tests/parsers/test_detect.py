"""Detection by content: containers, encrypted files, PDFs, every bank format, and ``unknown``
for everything else. The name of a file never matters."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from bankgate.files import open_detected
from bankgate.parsers.detect import (
    BAI2,
    GZIP,
    HEAD_BYTES,
    NACHA,
    PDF,
    PGP,
    TAR,
    UNKNOWN,
    ZIP,
    detect,
    looks_like_nacha,
    read_head,
)
from bankgate.parsers.fixed import available_layouts
from tests.parsers.nacha_helpers import CORPUS, batch, build

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
NACHA_SAMPLE = SAMPLES / "nacha" / "payroll-ppd-ccd.ach"
BAI2_SAMPLE = SAMPLES / "bai2" / "daily-balances.bai"
BAI2_DATA = ROOT / "tests" / "data" / "bai2"
SHIPPED_LAYOUTS = ("bai-lockbox", "positive-pay", "transaction-detail")
CORPUS_FILES = sorted(CORPUS.glob("*.ach")) if CORPUS.is_dir() else []


def nacha_bytes() -> bytes:
    return NACHA_SAMPLE.read_bytes()


# -- containers ------------------------------------------------------------------------------


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def tar_of(members: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_zip() -> None:
    assert detect(zip_of({"payroll.ach": nacha_bytes()})) == ZIP


def test_empty_zip() -> None:
    data = zip_of({})
    assert data.startswith(b"PK\x05\x06")  # only the end-of-central-directory record
    assert detect(data) == ZIP


def test_gzip() -> None:
    assert detect(gzip.compress(nacha_bytes())) == GZIP
    assert detect(gzip.compress(b"")) == GZIP


@pytest.mark.parametrize(
    "fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT], ids=["pax", "gnu", "ustar"]
)
def test_tar(fmt: int) -> None:
    assert detect(tar_of({"payroll.ach": nacha_bytes()}, fmt)) == TAR


def test_tar_of_a_file_that_starts_like_nacha() -> None:
    """The tar header comes first: a member name that looks like a NACHA header does not fool it."""
    assert detect(tar_of({"101 " + "x" * 60: nacha_bytes()})) == TAR


# -- PDF, PGP --------------------------------------------------------------------------------


def test_pdf() -> None:
    assert detect(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n") == PDF


@pytest.mark.parametrize("junk", [1, 100, 1000, 1019])
def test_pdf_with_junk_before_the_header(junk: int) -> None:
    """Readers accept a PDF header anywhere in the first KiB (mail gateways prepend junk)."""
    assert detect((b"\x00\xff junk\r\n" * 200)[:junk] + b"%PDF-1.4\n") == PDF


def test_pgp_ascii_armor() -> None:
    armored = (
        b"-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\n\nhQEMA5L0+AbCdEf/AQf/abc\n=abcd\n-----END PGP MESSAGE-----\n"
    )
    assert detect(armored) == PGP
    assert detect(b"\r\n  " + armored) == PGP


def test_pgp_signed_message_armor() -> None:
    assert detect(b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + nacha_bytes()) == PGP


def pkesk_body() -> bytes:
    """A public-key encrypted session key packet body: version 3, key id, RSA, an MPI."""
    return b"\x03" + bytes.fromhex("92f4f806c2d3e4f5") + b"\x01" + b"\x08\x00" + bytes(range(256))


@pytest.mark.parametrize(
    "packet",
    [
        # old format: 10 tag(4) length-type(2); tag 1 (PKESK), one-octet length -> 0x84, two-octet -> 0x85
        b"\x84\x8c" + pkesk_body()[:140],
        b"\x85\x01\x0c" + pkesk_body(),
        # old format tag 3 (symmetric session key), tag 8 (compressed data), tag 2 (signature)
        b"\x8c\x0d\x04\x09\x03\x08" + bytes(range(0x80, 0x88)) + b"\xe0",
        b"\xa3\x01" + bytes(range(0x78, 0xF8)),
        b"\x89\x01\x33\x04\x00\x01\x08\x00" + bytes(range(0x90, 0xF0)),
        # new format: 11 tag(6); tag 1 -> 0xC1, tag 3 -> 0xC3, tag 4 (one-pass signature) -> 0xC4
        b"\xc1\xc0\x4c" + pkesk_body(),
        b"\xc3\x0d\x04\x09\x03\x08" + bytes(range(0x80, 0x88)),
        b"\xc4\x0d\x03\x00\x08\x01" + bytes(range(0xA0, 0xA8)) + b"\x01",
    ],
    ids=["old-tag1-1oct", "old-tag1-2oct", "old-tag3", "old-tag8", "old-tag2", "new-tag1", "new-tag3", "new-tag4"],
)
def test_pgp_binary_packets(packet: bytes) -> None:
    assert detect(packet) == PGP


# -- bank formats ----------------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS_FILES, reason=f"NACHA sample corpus not found at {CORPUS}")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_nacha_corpus(path: Path) -> None:
    with open(path, "rb") as f:
        assert detect(read_head(f)) == NACHA


@pytest.mark.parametrize("path", sorted((SAMPLES / "nacha").glob("*.ach")), ids=lambda p: p.name)
def test_nacha_samples(path: Path) -> None:
    """Including the one that fails validation: detection looks at the header, not the totals."""
    assert detect(path.read_bytes()) == NACHA


def test_nacha_line_endings() -> None:
    data = build(batch({}, {"amount": 250}))
    assert detect(data) == NACHA
    assert detect(data.replace(b"\n", b"\r\n")) == NACHA
    assert detect(data.replace(b"\n", b"")) == NACHA  # no line breaks at all
    assert detect(data.replace(b"\n", b"\r")) == NACHA
    assert detect(b"\r\n\n" + data) == NACHA  # blank lines before the header


def test_nacha_head_only_and_big_file() -> None:
    """Detection sees only the first ``HEAD_BYTES``: a file much bigger than that is still NACHA."""
    data = build(batch(*({} for _ in range(300))))
    assert len(data) > 2 * HEAD_BYTES
    assert detect(data[:HEAD_BYTES]) == NACHA
    assert detect(data[:94]) == NACHA


def test_bai2() -> None:
    assert detect(BAI2_SAMPLE.read_bytes()) == BAI2
    assert detect(b"01,122099999,ACMEHOLD,250114,0602,114,80,,2/\n02,ACMEHOLD,122099999,1,250113,2400,USD,2/\n") == BAI2


@pytest.mark.parametrize("path", sorted(BAI2_DATA.glob("valid-*.bai")), ids=lambda p: p.name)
def test_bai2_valid_files(path: Path) -> None:
    assert detect(path.read_bytes()) == BAI2


def test_shipped_layouts_are_the_ones_tested() -> None:
    assert set(SHIPPED_LAYOUTS) <= set(available_layouts())


@pytest.mark.parametrize("layout", SHIPPED_LAYOUTS)
def test_fixed_layout_samples(layout: str) -> None:
    data = (SAMPLES / "fixed" / f"{layout}.txt").read_bytes()
    assert detect(data) == f"fixed:{layout}"
    assert detect(data.replace(b"\n", b"\r\n")) == f"fixed:{layout}"


# -- unknown ---------------------------------------------------------------------------------


def nacha_header_with(record_size: bytes) -> bytes:
    header = nacha_bytes()[:94]
    assert header[34:37] == b"094"
    return header[:34] + record_size + header[37:] + b"\n"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\r\n",
        b"Dear customer,\nplease find attached the payroll file.\n",
        b"account,amount,date\n123456789,100.00,2026-01-02\n",
        json.dumps({"records": [{"amount": 100}]}).encode(),
        b"<html><body>Service unavailable</body></html>",
        b"101 Dalmatians\n",
        b"101" + b" " * 200 + b"\n",
        b"1010000000000000000000000000000000000000\n",
        nacha_header_with(b"095"),  # a NACHA-like header with the wrong record size
        b"01,not,a,bai2,header/\n",
        b"PK",  # too short for a zip signature
        b"\x1f",
    ],
    ids=[
        "empty",
        "blank-lines",
        "text",
        "csv",
        "json",
        "html",
        "101-text",
        "101-spaces",
        "101-zeros",
        "nacha-record-size-095",
        "01-not-bai2",
        "PK-only",
        "half-gzip-magic",
    ],
)
def test_unknown(data: bytes) -> None:
    assert detect(data) == UNKNOWN


def test_looks_like_nacha_needs_the_header_fields() -> None:
    header = nacha_bytes()[:94]
    assert looks_like_nacha(header)
    assert not looks_like_nacha(b"101")
    assert not looks_like_nacha(b"5" + header[1:])


def test_read_head_leaves_the_position() -> None:
    stream = io.BytesIO(b"x" * (HEAD_BYTES * 2))
    stream.seek(5)
    assert read_head(stream) == b"x" * HEAD_BYTES
    assert stream.tell() == 5


# -- names do not matter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("x.pdf", nacha_bytes(), NACHA),
        ("statement.bai", nacha_bytes(), NACHA),
        ("payroll.ach", b"%PDF-1.4\n", PDF),
        ("payroll.ach", zip_of({"a.ach": b"x"}), ZIP),
        ("report.txt", BAI2_SAMPLE.read_bytes(), BAI2),
        ("download(3)", b"hello\n", UNKNOWN),
    ],
)
def test_names_do_not_matter(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    stream, kind = open_detected(path)
    stream.close()
    assert kind == expected


def test_gzip_is_unwrapped_by_open_detected(tmp_path: Path) -> None:
    path = tmp_path / "payroll.pdf"  # the name lies twice
    path.write_bytes(gzip.compress(nacha_bytes()))
    stream, kind = open_detected(path)
    with stream:
        assert kind == NACHA
        assert stream.read() == nacha_bytes()


@pytest.mark.parametrize(
    "data",
    [b"\x85\xff\x10\x99" + bytes(range(256)), b"\xc1\x20\x77" + bytes(64), b"\x89PNG\r\n\x1a\n" + bytes(64)],
    ids=["tag1-bad-version", "new-tag1-bad-version", "png"],
)
def test_binary_that_only_starts_like_pgp_is_not_pgp(data: bytes) -> None:
    assert detect(data) != PGP


def test_nacha_with_a_utf8_bom_is_still_nacha() -> None:
    from bankgate.parsers.nacha import NachaParser

    plain = nacha_bytes()
    assert detect(b"\xef\xbb\xbf" + plain) == "nacha"
    with_bom = list(NachaParser(io.BytesIO(b"\xef\xbb\xbf" + plain)))
    assert with_bom == list(NachaParser(io.BytesIO(plain)))
