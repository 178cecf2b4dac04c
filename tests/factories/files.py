"""Hand-made files for the readers' tests: what a hostile uploader sends."""

from __future__ import annotations

import io
import zipfile


def xlsx_sheet(sheet_xml: str) -> bytes:
    """A minimal workbook around one hand-written sheet (what a hostile uploader sends)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    odoc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>",
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship '
                       f'Id="rId1" Type="{odoc}/officeDocument" Target="xl/workbook.xml"/>'
                       "</Relationships>",
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook {ns} xmlns:r="{odoc}"><sheets>'
                           '<sheet name="assets" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels":
            f'<?xml version="1.0"?><Relationships xmlns="{rels}"><Relationship Id="rId1" '
            f'Type="{odoc}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml.replace("<worksheet>", f"<worksheet {ns}>"),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()


def inline_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def whole_sheet_bomb(header: list[str], far: dict[str, str]) -> bytes:
    """Issue 8's 1.5 KB workbook: its dimension claims A1:XFD1048576, the header is row 1 and
    the only other row is the last one Excel has (``far``: column letter -> text)."""
    head = "".join(inline_cell(f"{chr(65 + i)}1", name) for i, name in enumerate(header))
    last = "".join(inline_cell(f"{col}1048576", text) for col, text in far.items())
    return xlsx_sheet('<?xml version="1.0"?><worksheet><dimension ref="A1:XFD1048576"/>'
                      f'<sheetData><row r="1">{head}</row><row r="1048576">{last}</row>'
                      "</sheetData></worksheet>")
