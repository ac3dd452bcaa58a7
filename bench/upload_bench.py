"""Benchmark of the safe reader of uploaded workbooks (issue 14, finding 5): how long a hostile upload takes to be
refused, and an honest statement to be opened, by ``core.spreadsheets.open_uploaded_workbook``.

Scale 1 = the attacks of the security review: a shared-strings zip bomb that unpacks to 2 GB (about 2 MB uploaded),
a sheet of 1,000,000 blank rows with no size tag (about 2.5 MB), a sheet of 1,000,000 filled rows, and for
comparison an honest bank statement of 10,000 rows (the import's limit) written by openpyxl.

    python bench/upload_bench.py --scale 0.05
    python bench/upload_bench.py --scale 1

The last lines are ``name=value`` figures (seconds).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402

from programme.core.spreadsheets import WorkbookLimits, WorkbookRefused, open_uploaded_workbook  # noqa: E402

LIMITS = WorkbookLimits(max_rows=10_010)  # the statement import's: 10,000 rows, a header and a few title lines

_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                           'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
                           'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
    "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>',
}


def _zip(sheet_rows_xml: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _PARTS.items():
            archive.writestr(name, content)
        archive.writestr("xl/worksheets/sheet1.xml", b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                         b'spreadsheetml/2006/main"><sheetData>' + sheet_rows_xml + b"</sheetData></worksheet>")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _statement(rows: int) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Statement")
    sheet.append(["Value date", "Amount", "Reference", "Loan"])
    for n in range(rows):
        sheet.append([f"2026-11-{1 + n % 28:02d}", f"{1000 + n % 500}.00", f"BANK-{n:06d}", f"LN-{n % 900:04d}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _timed(data: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        workbook = open_uploaded_workbook(data, "upload.xlsx", LIMITS)
        rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
        workbook.close()
        outcome = f"read, {rows:,} rows"
    except WorkbookRefused as refused:
        outcome = f"refused: {refused.message}"
    return time.perf_counter() - started, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = a 2 GB bomb and 1,000,000-row sheets")
    args = parser.parse_args()
    rows = max(20_000, int(1_000_000 * args.scale))
    bomb_bytes = max(64 * 1024 * 1024, int(2 * 1024**3 * args.scale))
    cases = {
        "bomb": _zip(b'<row r="1"/>',
                     {"xl/sharedStrings.xml": b"<sst><si><t>" + b"A" * bomb_bytes + b"</t></si></sst>"}),
        "blank_rows": _zip(b"".join(b'<row r="%d"/>' % n for n in range(1, rows + 1))),
        "filled_rows": _zip(b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n)
                                     for n in range(1, rows + 1))),
        "honest_10000": _statement(10_000),
    }
    figures = {}
    for name, data in cases.items():
        seconds, outcome = _timed(data)
        print(f"{name}: {len(data) / 1e6:.2f} MB uploaded, {seconds:.3f} s, {outcome}")
        figures[f"{name}_seconds"] = f"{seconds:.3f}"
    print(f"\nupload benchmark, scale {args.scale}")
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
