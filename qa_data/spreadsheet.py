"""Reading and writing tables as ``.xlsx`` or ``.csv``, the way city staff's files really are.

Reading:
- ``.xlsx`` through openpyxl with ``data_only=True``: formulas give their cached values. A merged
  range gives its value to every cell it covers (a 部署 cell merged down a block of rows applies
  to each row). Rows with no value of their own (blank rows, and rows that only continue merged
  cells from above) are skipped. Title rows above the header are skipped: the header is the first
  row (within ``HEADER_SEARCH_ROWS``) that the caller recognises.
- ``.csv``: the encoding is detected (UTF-8 with BOM, UTF-8, then CP932/Shift_JIS; UTF-16 with a
  BOM is read as Excel's tab-separated "Unicode text"), unless given.
- Problems with the file itself (too large, not a spreadsheet, password-protected, undecodable)
  raise ``SpreadsheetError`` with a Japanese message; an undeterminable format raises
  ``FormatError`` (a usage error).

Writing: ``.xlsx`` (write-only openpyxl, header styled and frozen) or ``.csv`` (UTF-8 with BOM by
default, so Excel opens it correctly; CRLF between records).

Formula injection: a cell starting with ``= + - @`` (or tab/CR) must not become a formula when
the exported file is opened. CSV cells get a leading apostrophe (``'=1+1``), the usual defence;
``.xlsx`` cells are written as text cells with Excel's "quote prefix" style, so the value itself is
unchanged. Reading removes exactly one apostrophe in front of such a character, and writing adds
one in front of a value that already starts with apostrophes followed by such a character, so
every value reads back exactly as it was written.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

FORMATS = ("xlsx", "csv")
EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".csv": "csv", ".txt": "csv", ".tsv": "csv"}
AUTO_ENCODINGS = ("utf-8-sig", "utf-8", "cp932")
HEADER_SEARCH_ROWS = 20

_TRIGGER = "=+-@\t\r"
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Characters an .xlsx cell cannot hold (XML 1.0 forbids most C0 controls).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class SpreadsheetError(Exception):
    """The file cannot be read as a table (the message is for staff, in Japanese)."""


class FormatError(Exception):
    """The format could not be determined or is not supported (a usage error)."""


@dataclass
class Row:
    number: int  # as the spreadsheet shows it (1-based, counting title and header rows)
    values: list[str]

    def get(self, index: int | None) -> str:
        if index is None or index >= len(self.values):
            return ""
        return self.values[index]


@dataclass
class Table:
    header: list[str]
    header_row: int
    rows: list[Row]
    encoding: str | None = None
    sheet: str | None = None
    warnings: list[str] = field(default_factory=list)


# --- formats and neutralisation -------------------------------------------------------------


def detect_format(path: str | os.PathLike, format: str | None = None) -> str:
    """``--format`` when given, else the file extension."""
    if format:
        value = format.strip().lower().lstrip(".")
        if value not in FORMATS:
            raise FormatError(f"形式「{format}」には対応していません（xlsx または csv）。")
        return value
    suffix = Path(path).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise FormatError(
        f"ファイル名「{Path(path).name}」から形式が分かりません。"
        "拡張子を .xlsx か .csv にするか、--format xlsx / --format csv を指定してください。"
    )


def output_format(
    path: str | os.PathLike, format: str | None = None, encoding: str | None = None
) -> tuple[str, str | None]:
    """The format to write and, for CSV, its encoding (UTF-8 with BOM so Excel opens it)."""
    kind = detect_format(path, format)
    if kind == "xlsx" and encoding:
        raise FormatError("--encoding は CSV のときだけ指定できます。")
    return kind, (encoding or "utf-8-sig") if kind == "csv" else None


def unwritable_messages(
    rows: list[list[str]],
    header: list[str],
    format: str,
    encoding: str | None,
    row_label: Callable[[int], str],
) -> list[str]:
    """One message per cell holding characters the target format or encoding cannot hold."""
    target = "Excel（.xlsx）" if format == "xlsx" else f"文字コード {encoding} "
    return [
        f"{row_label(problem.row)}「{header[problem.column]}」: "
        f"{describe_characters(problem.characters)} は{target}では書き出せません"
        for problem in unwritable_cells(rows, format, encoding)
    ]


def neutralise(value: str) -> str:
    """The text written to a CSV cell: formula-like values get a leading apostrophe."""
    if value and (value[0] in _TRIGGER or _NEUTRALISED.match(value)):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """The inverse of ``neutralise`` (and of the .xlsx writer's apostrophe)."""
    return value[1:] if _NEUTRALISED.match(value) else value


def cell_text(value: object) -> str:
    """A cell's value as text: whole numbers without ``.0``, booleans as TRUE/FALSE."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, str):
        return unneutralise(value)
    return str(value)


# --- reading --------------------------------------------------------------------------------


def read_table(
    path: str | os.PathLike,
    *,
    is_header: Callable[[list[str]], bool],
    format: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    max_bytes: int | None = None,
) -> Table:
    """The table in a file: its header row (the first ``is_header`` accepts) and data rows."""
    path = Path(path)
    kind = detect_format(path, format)
    if not path.is_file():
        raise SpreadsheetError(f"ファイル「{path}」が見つかりません。")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SpreadsheetError(
            f"ファイルが大きすぎます（{_megabytes(size)}、上限 {_megabytes(max_bytes)}）。"
            "ファイルを分けて取り込んでください。"
        )
    with path.open("rb") as handle:
        head = handle.read(8)
    if kind == "xlsx":
        raw_rows, sheet_name = _xlsx_rows(path, head, sheet)
        used_encoding = None
    else:
        if sheet:
            raise FormatError("--sheet は .xlsx のときだけ指定できます。")
        raw_rows, used_encoding = _csv_rows(path, head, encoding)
        sheet_name = None
    return _find_header(raw_rows, is_header, used_encoding, sheet_name, path)


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB"


def _find_header(
    raw_rows: Iterable[tuple[int, list[str], bool]],
    is_header: Callable[[list[str]], bool],
    encoding: str | None,
    sheet: str | None,
    path: Path,
) -> Table:
    header: list[str] | None = None
    header_row = 0
    rows: list[Row] = []
    for number, values, has_own_value in raw_rows:
        if header is None:
            if number > HEADER_SEARCH_ROWS:
                break
            cleaned = [value.strip() for value in values]
            if is_header(cleaned):
                header, header_row = cleaned, number
            continue
        if has_own_value:
            rows.append(Row(number, values))
    if header is None:
        where = f"シート「{sheet}」の" if sheet else ""
        raise SpreadsheetError(
            f"「{path.name}」の{where}先頭{HEADER_SEARCH_ROWS}行に見出し行が見つかりません。"
            "表の1行目に列名（例: 質問, 回答）を入れてください。"
        )
    return Table(header=header, header_row=header_row, rows=rows, encoding=encoding, sheet=sheet)


def _xlsx_rows(path: Path, head: bytes, sheet: str | None):
    if head.startswith(_OLE_MAGIC):
        raise SpreadsheetError(_ole_message(path))
    if not head.startswith(_ZIP_MAGIC):
        raise SpreadsheetError(
            f"「{path.name}」は Excel ブック（.xlsx）ではありません。"
            "Excel で開いて .xlsx 形式で保存し直すか、CSV なら --format csv を指定してください。"
        )
    from openpyxl import load_workbook

    try:
        # Read-only mode streams the sheet (much faster and leaner on big files).
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign zip
        raise SpreadsheetError(
            f"「{path.name}」を Excel ブック（.xlsx）として読めません（{type(error).__name__}）。"
        ) from error
    try:
        worksheets = [w for w in workbook.worksheets if hasattr(w, "iter_rows")]
        if not worksheets:
            raise SpreadsheetError(f"「{path.name}」には表のシートがありません。")
        if sheet is None:
            worksheet = worksheets[0]
        elif sheet in [w.title for w in worksheets]:
            worksheet = workbook[sheet]
        else:
            names = "、".join(f"「{w.title}」" for w in worksheets)
            raise SpreadsheetError(f"シート「{sheet}」がありません。このブックのシート: {names}")
        # Files from some generators carry a wrong size; without it no cell is cut off.
        worksheet.reset_dimensions()
        merged = _merged_ranges(workbook, worksheet)
        return list(_worksheet_rows(worksheet, merged)), worksheet.title
    finally:
        workbook.close()


_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _merged_ranges(workbook, worksheet) -> list[tuple[int, int, int, int]]:
    """(min_row, min_col, max_row, max_col) of each merged range: read-only worksheets do not
    expose them, so they come from the sheet's ``<mergeCells>`` element."""
    from openpyxl.utils.cell import range_boundaries

    with workbook._archive.open(worksheet._worksheet_path) as source:
        data = source.read()
    ranges = []
    for match in _MERGE_CELL.finditer(data):
        min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode())
        ranges.append((min_row, min_col, max_row, max_col))
    return ranges


def _worksheet_rows(worksheet, merged) -> Iterable[tuple[int, list[str], bool]]:
    # Cells covered by a merged range (other than its top-left cell) take the top-left value.
    owner: dict[tuple[int, int], int] = {}
    top_left: dict[tuple[int, int], int] = {}
    for index, (min_row, min_col, max_row, max_col) in enumerate(merged):
        top_left[min_row, min_col] = index
        for row in range(min_row, max_row + 1):
            for column in range(min_col, max_col + 1):
                if (row, column) != (min_row, min_col):
                    owner[row, column] = index
    values_of: dict[int, str] = {}
    for number, cells in enumerate(worksheet.iter_rows(values_only=True), start=1):
        values = [cell_text(value) for value in cells]
        has_own_value = any(value.strip() for value in values)
        if merged:
            width = max([len(values)] + [r[3] for r in merged if r[0] <= number <= r[2]])
            values += [""] * (width - len(values))
            for column in range(1, width + 1):
                if (number, column) in top_left:
                    values_of[top_left[number, column]] = values[column - 1]
                elif (number, column) in owner:
                    values[column - 1] = values_of.get(owner[number, column], "")
        yield number, values, has_own_value


def _ole_message(path: Path) -> str:
    import msoffcrypto

    try:
        with path.open("rb") as handle:
            encrypted = msoffcrypto.OfficeFile(handle).is_encrypted()
    except Exception:
        encrypted = False
    if encrypted:
        return (
            f"「{path.name}」はパスワードで保護されています。Excel でパスワードを解除して"
            "保存し直してから取り込んでください。"
        )
    return (
        f"「{path.name}」は旧形式の Excel ブック（.xls）か、表ではないファイルです。"
        "Excel で開いて .xlsx 形式で保存し直してください。"
    )


def _csv_rows(path: Path, head: bytes, encoding: str | None):
    data = path.read_bytes()
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise SpreadsheetError(
            f"「{path.name}」は CSV ではなく Excel などのファイルです。"
            ".xlsx なら拡張子を .xlsx にするか --format xlsx を指定してください。"
        )
    text, used = decode_text(data, encoding, path.name)
    if "\x00" in text:
        raise SpreadsheetError(f"「{path.name}」は表（CSV）ではありません。")
    delimiter = "\t" if used.startswith("utf-16") or path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = []
    try:
        for number, values in enumerate(reader, start=1):
            values = [unneutralise(value) for value in values]
            rows.append((number, values, any(value.strip() for value in values)))
    except csv.Error as error:
        raise SpreadsheetError(f"「{path.name}」を CSV として読めません（{error}）。") from error
    return rows, used


def decode_text(data: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    """Bytes → text with the given encoding, or the first of UTF-8 (BOM) / UTF-8 / CP932."""
    if encoding:
        try:
            return data.decode(_codec(encoding)), encoding
        except LookupError as error:
            raise FormatError(f"文字コード「{encoding}」は使えません。") from error
        except UnicodeDecodeError as error:
            raise SpreadsheetError(
                f"「{name}」は文字コード {encoding} として読めません"
                f"（{error.start}バイト目）。--encoding を確認してください。"
            ) from error
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if data.startswith(b"\xef\xbb\xbf"):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    else:
        candidates = tuple(c for c in AUTO_ENCODINGS if c != "utf-8-sig")
    for candidate in candidates:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(
        f"「{name}」の文字コードを判別できません（UTF-8 でも Shift_JIS(CP932) でもありません）。"
        "--encoding で指定してください。"
    )


def _codec(encoding: str) -> str:
    """Staff say "Shift_JIS" and mean Windows' CP932 (which also has ①, ㈱, 髙, 﨑...)."""
    name = encoding.strip().lower().replace("-", "_")
    if name in ("shift_jis", "sjis", "shiftjis", "s_jis", "windows_31j", "ms932", "cp932"):
        return "cp932"
    if name in ("utf8", "utf_8"):
        return "utf-8"
    if name in ("utf8_sig", "utf_8_sig", "utf8bom", "utf_8_bom"):
        return "utf-8-sig"
    return encoding.strip()


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unwritable:
    row: int  # 0-based index into the data rows
    column: int
    characters: str


def unwritable_cells(
    rows: Sequence[Sequence[str]], format: str, encoding: str | None = None
) -> list[Unwritable]:
    """Cells holding characters the target cannot store (e.g. emoji in CP932)."""
    problems = []
    codec = _codec(encoding) if format == "csv" and encoding else None
    check_codec = codec is not None and codec.replace("-", "_").lower() not in (
        "utf_8",
        "utf_8_sig",
        "utf_16",
    )
    for row_index, row in enumerate(rows):
        for column, value in enumerate(row):
            if not value:
                continue
            bad = ""
            if format == "xlsx":
                bad = "".join(dict.fromkeys(_XLSX_ILLEGAL.findall(value)))
            elif check_codec and not _encodable(value, codec):
                bad = "".join(dict.fromkeys(c for c in value if not _encodable(c, codec)))
            if bad:
                problems.append(Unwritable(row_index, column, bad))
    return problems


def _encodable(text: str, codec: str) -> bool:
    """Whether ``text`` survives the codec unchanged: Python's CP932 writes 〜 (U+301C) and
    − (U+2212) as bytes that read back as ～ (U+FF5E) and －, which would silently alter text."""
    try:
        return text.encode(codec).decode(codec) == text
    except UnicodeError:
        return False


def describe_characters(characters: str) -> str:
    """「😀」(U+1F600) style, for messages about characters that cannot be written."""
    return "、".join(
        f"「{c}」(U+{ord(c):04X})" if c.isprintable() else f"U+{ord(c):04X}" for c in characters
    )


def write_table(
    path: str | os.PathLike,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    format: str,
    encoding: str | None = None,
    sheet_title: str = "Sheet1",
    column_widths: Sequence[int] | None = None,
    wrap_columns: Sequence[int] = (),
) -> None:
    """Write the table; the target file appears only once it is complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        if format == "xlsx":
            _write_xlsx(temporary, header, rows, sheet_title, column_widths, wrap_columns)
        else:
            _write_csv(temporary, header, rows, encoding or "utf-8-sig")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_csv(target: str, header, rows, encoding: str) -> None:
    with open(target, "w", encoding=_codec(encoding), newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([neutralise(value) for value in header])
        for row in rows:
            writer.writerow([neutralise(value) for value in row])


def _write_xlsx(target: str, header, rows, title, column_widths, wrap_columns) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for index, width in enumerate(column_widths or [], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    header_cells = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font, cell.fill = bold, fill
        header_cells.append(cell)
    sheet.append(header_cells)
    # Styles are set once on template cells and their style arrays copied: assigning style
    # objects cell by cell costs more than writing the file.
    styles = {}
    for wrapped_cell in (False, True):
        for quoted in (False, True):
            template = WriteOnlyCell(sheet)
            template.alignment = Alignment(wrap_text=wrapped_cell or None, vertical="top")
            template.quotePrefix = quoted
            styles[wrapped_cell, quoted] = template._style
    wrapped = set(wrap_columns)
    count = 0
    for row in rows:
        cells = []
        for column, value in enumerate(row):
            if not value:
                cells.append(None)
                continue
            cell = WriteOnlyCell(sheet)
            quoted = value[0] in _TRIGGER or value[0] == "'"
            if quoted:
                # A text cell with Excel's quote prefix never becomes a formula.
                cell.value = "'" + value if _NEUTRALISED.match(value) else value
                cell.data_type = "s"
            else:
                cell.value = value
            cell._style = copy(styles[column in wrapped, quoted])
            cells.append(cell)
        sheet.append(cells)
        count += 1
    if header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{count + 1}"
    workbook.save(target)
