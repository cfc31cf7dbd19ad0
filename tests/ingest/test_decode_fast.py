"""The decode fast paths (ASCII UTF-16 narrowed with numpy, ASCII UTF-8 not decoded) give the same bytes and
the same errors as decoding through Python's codecs."""

from __future__ import annotations

import pytest

from mktdash.ingest.sources import _csv
from mktdash.ingest.sources.base import SourceError

TEXTS = [
    'Campaign report\n"July 8, 2025 - July 31, 2025"\nDay\tCampaign\tCost\n2025-07-08\tBrand\t1,234.56\n',
    "Kosten\tCoût\n1.234,56\tÉté – 10 €\n",  # not ASCII: the codec path
    "x",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(("bom", "codec", "name"), [
    (b"\xff\xfe", "utf-16-le", "UTF-16LE (BOM)"), (b"\xfe\xff", "utf-16-be", "UTF-16BE (BOM)"),
])  # fmt: skip
def test_utf16_with_bom_becomes_the_same_utf8(text: str, bom: bytes, codec: str, name: str) -> None:
    assert _csv.decode(bom + text.encode(codec)) == (text.encode("utf-8"), name)


def test_broken_utf16_is_still_refused_with_its_byte() -> None:
    lone_surrogate = b"\xff\xfe" + "Day\n".encode("utf-16-le") + b"\x00\xd8" + "1\n".encode("utf-16-le")
    with pytest.raises(SourceError, match="broken UTF-16 text at byte 10"):
        _csv.decode(lone_surrogate, "x.csv")
    odd = b"\xff\xfe" + "Day\n".encode("utf-16-le") + b"1"
    with pytest.raises(SourceError, match="broken UTF-16 text at byte 10"):
        _csv.decode(odd, "x.csv")


def test_utf8_ascii_and_not_ascii_and_windows_1252() -> None:
    assert _csv.decode(b"Day,Cost\n2025-07-08,1.00\n") == (b"Day,Cost\n2025-07-08,1.00\n", "UTF-8")
    assert _csv.decode("\ufeffCoût\n".encode()) == ("Coût\n".encode(), "UTF-8 (BOM)")
    assert _csv.decode("Coût\n".encode("cp1252")) == ("Coût\n".encode(), "Windows-1252")


# block sizes that cut characters, surrogate pairs and CRLFs at every possible place, and the real one
CHUNKS = [2, 3, 4, 6, 10, 1 << 22]
# 3-byte characters and a 4-byte one (a surrogate pair in UTF-16)
MIXED = "Kampagne\tKosten\r\nSommer – Été 😃\t1.234,56 €\r\nAB\tCD\r\n" * 3


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_blocks_give_the_same_text_wherever_they_cut(
    chunk: int, codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csv, "CHUNK", chunk)
    bom = b"\xff\xfe" if codec == "utf-16-le" else b"\xfe\xff"
    for text in [MIXED, "Day\tCost\n" * 7, "Day\tCost\n" * 3 + MIXED + "x\ty\n" * 5]:
        want = text.encode("utf-8")
        assert _csv.decode(bom + text.encode(codec))[0] == want
        assert _csv.decode(text.encode(codec))[0] == want  # BOM lost: found by its NULs
        assert _csv.decode(text.encode(codec) + b"A")[0] == want  # BOM lost and cut after an odd byte
        assert _csv.decode(b"\xef\xbb\xbf" + want) == (want, "UTF-8 (BOM)")
        assert _csv.decode(want)[0] == want


@pytest.mark.parametrize("chunk", CHUNKS)
def test_errors_name_the_same_byte_wherever_the_blocks_cut(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csv, "CHUNK", chunk)
    body = "Day\tCost\n" + "é\t1\n" * 4
    lone = b"\xff\xfe" + body.encode("utf-16-le") + b"\x00\xd8" + "1\n".encode("utf-16-le")
    with pytest.raises(SourceError, match=f"broken UTF-16 text at byte {2 + len(body) * 2}"):
        _csv.decode(lone)
    # not UTF-8 and not Windows-1252 (0x81 is undefined there): the first bad byte and its line
    bad = ("Day,Cost\n" + "é,1\n" * 3).encode() + b"\x81,2\n"
    with pytest.raises(SourceError, match="byte 0x81") as e:
        _csv.decode(bad)
    assert e.value.line == 5
    assert _csv.decode("Coût\n".encode("cp1252") * 5) == ("Coût\n".encode() * 5, "Windows-1252")
