"""core.spreadsheets: every text the streaming writer puts in a cell stays text, never a formula, whatever the
exporter passes (a plain str, a header, a cell it styled itself), and reads back as written."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell

from programme.core.spreadsheets import StreamingWorkbook

#: Texts a spreadsheet could take for a formula, as a person might type them.
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "=1+1"]


def _read_back(book: StreamingWorkbook) -> list[list]:
    buffer = BytesIO()
    book.save(buffer)
    sheet = load_workbook(BytesIO(buffer.getvalue()))["Sheet"]
    return [list(row) for row in sheet.iter_rows()]


def test_hostile_text_is_kept_as_text_never_a_formula() -> None:
    book = StreamingWorkbook()
    book.add_sheet("Sheet", ["=header", "Plain"])
    for text in HOSTILE:
        book.append("Sheet", [text, "ordinary"])
    rows = _read_back(book)
    cells = [cell for row in rows for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert rows[0][0].value == "=header"
    assert [row[0].value for row in rows[1:]] == HOSTILE
    assert all(row[1].value == "ordinary" for row in rows[1:])


def test_a_cell_the_exporter_made_itself_is_also_kept_as_text() -> None:
    book = StreamingWorkbook()
    sheet = book.add_sheet("Sheet", ["Text"])
    styled = WriteOnlyCell(sheet, value="=SUM(A1:A9)")
    assert styled.data_type == "f"  # what openpyxl would have written
    book.append("Sheet", [styled])
    rows = _read_back(book)
    assert rows[1][0].data_type == "s" and rows[1][0].value == "=SUM(A1:A9)"


def test_characters_a_workbook_cannot_hold_are_dropped() -> None:
    book = StreamingWorkbook()
    book.add_sheet("Sheet", ["Text"])
    book.append("Sheet", ["a\x00b\x07c", "=x\x1f"])
    rows = _read_back(book)
    assert [cell.value for cell in rows[1]] == ["abc", "=x"]
    assert rows[1][1].data_type == "s"


def test_a_float_is_still_refused() -> None:
    book = StreamingWorkbook()
    book.add_sheet("Sheet", ["Number"])
    with pytest.raises(TypeError, match="float"):
        book.append("Sheet", [1.5])
