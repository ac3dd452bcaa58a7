"""core.spreadsheets.open_uploaded_workbook, the one reader of uploaded workbooks (issue 14, finding 5): a zip bomb,
a sheet of a million blank rows that hides its size, and a workbook of too many parts are refused with a clear
message before openpyxl parses them; an honest workbook reads as written."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from programme.core.spreadsheets import WorkbookLimits, WorkbookRefused, open_uploaded_workbook

LIMITS = WorkbookLimits(max_rows=10_010)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+'
    'xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
         '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
         'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
             '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                  'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                  'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _handmade(sheet_rows: str, extra: dict[str, bytes] | None = None) -> bytes:
    """An .xlsx written part by part, as an attacker would (no size tag on the sheet)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml",
                         '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                         f'spreadsheetml/2006/main"><sheetData>{sheet_rows}</sheetData></worksheet>')
        for part, content in (extra or {}).items():
            archive.writestr(part, content)
    return buffer.getvalue()


def _honest(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Date", "Amount", "Reference"])
    for n in range(rows):
        sheet.append([f"2026-01-{1 + n % 28:02d}", n, f"REF-{n}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_honest_workbook_reads_as_written() -> None:
    workbook = open_uploaded_workbook(_honest(50), "s.xlsx", LIMITS)
    try:
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    assert rows[0] == ("Date", "Amount", "Reference") and rows[50] == ("2026-01-22", 49, "REF-49")


def test_a_sheet_of_a_million_blank_rows_without_a_size_tag_is_refused_at_the_limit() -> None:
    data = _handmade("".join(f'<row r="{n}"/>' for n in range(1, 1_000_001)))
    assert len(data) < 3 * 1024 * 1024  # a small upload
    with pytest.raises(WorkbookRefused, match=r"more than 10,010 rows \(blank ones count too\)") as refused:
        open_uploaded_workbook(data, "blank.xlsx", LIMITS)
    assert refused.value.field == "file"


def test_a_sheet_just_at_the_row_limit_is_read() -> None:
    data = _handmade("".join(f'<row r="{n}"/>' for n in range(1, 10_011)))
    open_uploaded_workbook(data, "edge.xlsx", LIMITS).close()
    with pytest.raises(WorkbookRefused, match="more than 10,010 rows"):
        open_uploaded_workbook(_handmade("".join(f'<row r="{n}"/>' for n in range(1, 10_012))), "x.xlsx", LIMITS)


def test_a_shared_strings_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>' + b"A" * (
        60 * 1024 * 1024) + b"</t></si></sst>"
    data = _handmade('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', {"xl/sharedStrings.xml": bomb})
    del bomb
    assert len(data) < 1024 * 1024
    with pytest.raises(WorkbookRefused, match="unpacks to 60 MB, more than the limit of 40 MB"):
        open_uploaded_workbook(data, "bomb.xlsx", LIMITS)


def test_an_entry_packed_far_tighter_than_any_spreadsheet_is_refused() -> None:
    data = _handmade('<row r="1"/>', {"xl/sharedStrings.xml": b" " * (20 * 1024 * 1024)})
    with pytest.raises(WorkbookRefused, match=r"packed [\d,]+ times tighter than any real spreadsheet"):
        open_uploaded_workbook(data, "tight.xlsx", LIMITS)


def test_a_workbook_of_too_many_parts_is_refused() -> None:
    data = _handmade('<row r="1"/>', {f"xl/media/{n}.bin": b"x" for n in range(300)})
    with pytest.raises(WorkbookRefused, match="holds 305 parts"):
        open_uploaded_workbook(data, "parts.xlsx", LIMITS)


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04 broken", _handmade("<row r='1'>")[:-40]])
def test_what_is_not_a_workbook_is_refused_plainly(data: bytes) -> None:
    with pytest.raises(WorkbookRefused, match="is not an Excel workbook"):
        open_uploaded_workbook(data, "odd.xlsx", LIMITS)


def test_an_entity_expansion_in_the_sheet_is_refused() -> None:
    data = _handmade('<row r="1"/>')
    evil = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(evil, "w") as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                content = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
                           b'<worksheet><sheetData><row r="1"><c><v>&b;</v></c></row></sheetData></worksheet>')
            target.writestr(entry, content)
    with pytest.raises(WorkbookRefused, match="is not an Excel workbook"):
        open_uploaded_workbook(evil.getvalue(), "dtd.xlsx", LIMITS)
