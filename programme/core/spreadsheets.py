"""Excel workbooks with openpyxl: streaming writers for exports (write-only mode, flat memory).

Every text the writer puts in a cell, headers included, passes through ``safe_text``: characters Excel refuses are
dropped, and a text that a spreadsheet could take for a formula (one starting with =, +, -, @, a tab or a carriage
return) is stored as an explicit string cell, so it reads exactly as typed and never runs. Exporters write plain
``str`` values and need not remember any of this.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")
#: The first characters with which a spreadsheet may read a text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class StreamingWorkbook:
    """A write-only workbook: rows go to disk as they are appended, so memory does not grow with them."""

    def __init__(self) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheets: dict[str, WriteOnlyWorksheet] = {}

    def add_sheet(self, title: str, headers: Sequence[str], widths: Sequence[int] | None = None,
                  ) -> WriteOnlyWorksheet:
        sheet = self.workbook.create_sheet(title)
        for index, width in enumerate(widths or [], start=1):
            sheet.column_dimensions[_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        header = []
        for text in headers:
            cell = _text_cell(sheet, text)
            cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            header.append(cell)
        sheet.append(header)
        self.sheets[title] = sheet
        return sheet

    def append(self, title: str, values: Iterable[Any]) -> None:
        sheet = self.sheets[title]
        sheet.append([_cell(sheet, value) for value in values])

    def save(self, target: Any) -> None:
        self.workbook.save(target)


class Money(Decimal):
    """Marks a Decimal to be written with the money number format."""


def safe_text(text: str) -> str:
    """The text without the control characters an .xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _text_cell(sheet: WriteOnlyWorksheet, text: str) -> Cell:
    """A cell holding ``text`` as a string, never a formula, whatever it starts with."""
    cell = WriteOnlyCell(sheet, value=safe_text(text))
    cell.data_type = "s"
    return cell


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        text = safe_text(value)
        return _text_cell(sheet, text) if text.startswith(FORMULA_STARTS) else text
    if isinstance(value, Cell) and isinstance(value.value, str):
        value.data_type = "s"  # a cell an exporter styled itself: its text is still never a formula
        return value
    if isinstance(value, float):
        raise TypeError("a float never goes into a workbook: use Decimal")
    if isinstance(value, Money):
        cell = WriteOnlyCell(sheet, value=Decimal(value))
        cell.number_format = MONEY_FORMAT
        return cell
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    return value


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters
