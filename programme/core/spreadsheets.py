"""Excel workbooks with openpyxl: streaming writers for exports (write-only mode, flat memory), and the one safe
reader for workbooks people upload.

Every text the writer puts in a cell, headers included, passes through ``safe_text``: characters Excel refuses are
dropped, and a text that a spreadsheet could take for a formula (one starting with =, +, -, @, a tab or a carriage
return) is stored as an explicit string cell, so it reads exactly as typed and never runs. Exporters write plain
``str`` values and need not remember any of this.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from programme.core.access import RuleViolation
from programme.core.money import format_number
from programme.core.texts import gettext as _

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


# --- reading -------------------------------------------------------------------------------------------------


class WorkbookRefused(RuleViolation):
    """An uploaded workbook that is not read at all: not an .xlsx, damaged, or larger inside than any honest one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass(frozen=True)
class WorkbookLimits:
    """What an uploaded workbook may hold, checked before openpyxl parses any of it. A real upload (a bank
    statement of 10,000 rows is about 2 MB of XML) is far inside; a zip bomb is far outside."""

    max_rows: int
    max_uncompressed_bytes: int = 40 * 1024 * 1024
    max_entries: int = 200
    #: Uncompressed over compressed size, per entry above a megabyte: XML compresses about 5-30 times; a sheet
    #: of blank rows or one shared string repeated a million times, thousands of times.
    max_ratio: int = 200


_MB = 1024 * 1024
_ROW = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"


def open_uploaded_workbook(data: bytes, name: str, limits: WorkbookLimits) -> Any:
    """A read-only openpyxl workbook of an upload, once it has passed every check, or ``WorkbookRefused`` with what
    is wrong: the zip's entries, their total uncompressed size and each one's compression ratio first (without
    inflating anything), then every ``<row>`` element of every sheet counted against ``max_rows`` as the XML
    streams by (a sheet that hides its size, or holds a million blank rows, is refused at the first row over the
    limit). The caller closes the workbook."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise WorkbookRefused(_not_a_workbook(name))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_entries(archive, name, limits)
            for sheet in _sheet_paths(archive):
                _count_rows(archive, sheet, name, limits.max_rows)
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except WorkbookRefused:
        raise
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError,
            EOFError) as exc:
        raise WorkbookRefused(_not_a_workbook(name)) from exc


def _not_a_workbook(name: str) -> str:
    return _("%(name)s is not an Excel workbook (.xlsx): it cannot be opened as one.", name=name)


def _count(number: int) -> str:
    """A count grouped in the language's way (10,010; 10.010)."""
    return format_number(Decimal(number), 0)


def _check_entries(archive: zipfile.ZipFile, name: str, limits: WorkbookLimits) -> None:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise WorkbookRefused(_("%(name)s holds %(parts)s parts, more than any spreadsheet of this kind (%(most)s): "
                                "it is not read.", name=name, parts=_count(len(entries)),
                                most=_count(limits.max_entries)))
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookRefused(_("%(name)s unpacks to %(size)s MB, more than the limit of %(limit)s MB: it is not "
                                "read.", name=name, size=_count(total // _MB),
                                limit=limits.max_uncompressed_bytes // _MB))
    for entry in entries:
        if entry.file_size > _MB and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            raise WorkbookRefused(_("%(name)s is packed %(ratio)s times tighter than any real spreadsheet (%(part)s): "
                                    "it is not read.", name=name,
                                    ratio=_count(entry.file_size // max(entry.compress_size, 1)),
                                    part=entry.filename))


def _sheet_paths(archive: zipfile.ZipFile) -> list[str]:
    names = set(archive.namelist())
    return sorted(n for n in names if posixpath.dirname(n) == "xl/worksheets" and n.endswith(".xml"))


def _count_rows(archive: zipfile.ZipFile, sheet: str, name: str, max_rows: int) -> None:
    from lxml import etree

    with archive.open(sheet) as stream:
        head = stream.read(64 * 1024)
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:  # a spreadsheet never declares any; a billion laughs does
        raise WorkbookRefused(_not_a_workbook(name))
    rows = 0
    with archive.open(sheet) as stream:
        # lxml streams the sheet and hands back only the row elements (C speed: 10,000 rows in a few ms), never
        # resolving an entity nor fetching anything.
        for _event, element in etree.iterparse(stream, events=("end",), tag=(_ROW, "row"), resolve_entities=False,
                                               no_network=True, load_dtd=False, huge_tree=False):
            rows += 1
            if rows > max_rows:
                raise WorkbookRefused(_("%(name)s has more than %(rows)s rows (blank ones count too): split it in "
                                        "parts and import each.", name=name, rows=_count(max_rows)))
            element.clear()
