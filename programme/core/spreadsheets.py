"""Excel workbooks with openpyxl: streaming writers for exports (write-only mode, flat memory)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="EEF1F4")


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
            cell = WriteOnlyCell(sheet, value=text)
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


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
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
