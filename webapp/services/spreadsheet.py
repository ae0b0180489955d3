"""Cells of the CSV files Herald writes (the audit log, the posts export), safe to open in a
spreadsheet: a cell a spreadsheet would read as a formula gets a leading apostrophe, which
spreadsheets show as text. The posts import takes that apostrophe off again, so an export
imports back to the same text."""

import csv
import io

# A cell a spreadsheet would read as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The value as a CSV cell that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unsafe_cell(text: str) -> str:
    """The text a `safe_cell` stood for: the apostrophe it put before a formula character
    removed (an apostrophe before anything else is the text's own)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def csv_bytes(rows) -> bytes:
    """`rows` (cells already made safe) as a UTF-8 CSV file with CRLF line ends, as
    spreadsheets write them. Built whole: the rows' producer bounds them (a streamed body
    would outlive the request's database session)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")
