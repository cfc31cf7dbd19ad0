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
