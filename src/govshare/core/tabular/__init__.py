"""Tabular files in and out, for every domain: streaming readers (CSV, XLSX, GeoJSON), cell
converters compiled from a pydantic model, column presets, the one per-row error report, and
the writers (with the one spreadsheet-formula rule). No database, no web framework: a
domain's importer (its service layer) drives them and its pages or CLI show the result.

How a domain imports a file (property's ``import_export`` is the full example)::

    from govshare.core import tabular as t

    LAYOUT = t.Layout(fields=tuple(FuelCardIn.model_fields),
                      converters=t.model_converters(FuelCardIn),
                      required=frozenset({"card_number", "gallons"}))
    WEX = t.Preset(name="wex", label="WEX fuel card export", description="...",
                   layout=LAYOUT, columns={"gallons": ("Units",), ...},
                   required=("card_number", "gallons"))

    def import_cards(stream, name):
        fmt = t.detect_format(name, stream.read(8192)); stream.seek(0)
        report = t.ErrorReport()
        try:
            table = t.open_table(stream, fmt)          # columns now, rows lazily
        except t.FileRefused as exc:                     # not readable at all
            report.add(exc.error)
            raise t.Refused(f"{name} cannot be read: {exc.error.reason}", report=report)
        plan = t.make_plan(table.columns, WEX, fmt)
        for e in plan.header_errors:
            report.add(e)
        for number, cells, problems in table.rows:      # number: the row the user sees
            if cells is None:                            # the file broke off: not a row
                for e in problems: report.add(e)
                continue
            values, errors = plan.validate(number, cells)
            if plan.ignored_at:
                plan.tally(cells)                        # data in columns with no place
            for e in problems + errors:
                report.add(e)
            ...                                          # stage the row, don't write yet
        if report.count:                                 # all or nothing
            raise t.Refused(f"{report.count:,} problems in {name}", report=report)
        ...                                              # write; say plan.unplaced

``Refused`` is a ``ValidationFailed`` (422): an API answers problem+json whose ``errors`` are
the first problems as ``{"row", "column", "value", "reason", "loc"}``; a page keeps the whole
report with :class:`ReportStore` and links its CSV (``row,column,value,reason``), which is
what the CLI's ``--report FILE`` writes too. Exports use :func:`write_csv`,
:func:`write_xlsx` and :func:`geojson_chunks` (features from :func:`feature`), never their
own ``csv.writer``: text that a spreadsheet would run as a formula is neutralized in one
place (:mod:`.writers`).
"""

from govshare.core.tabular.columns import (
    KBTU_PER_UNIT,
    MISSING,
    Derived,
    Layout,
    MappingError,
    Plan,
    Preset,
    make_plan,
    mapped,
    parse_mapping,
)
from govshare.core.tabular.converters import (
    Converter,
    bool_converter,
    bounds,
    dollars_converter,
    enum_converter,
    enum_key,
    field_converter,
    float_converter,
    int_converter,
    model_converters,
    str_converter,
    year_converter,
    zip_converter,
)
from govshare.core.tabular.problems import CellError, FileRefused, RowError, shown
from govshare.core.tabular.readers import (
    FORMATS,
    GEOMETRY,
    MAX_COLUMNS,
    MEDIA_TYPES,
    RawRow,
    Table,
    detect_format,
    header_key,
    load_json,
    open_table,
)
from govshare.core.tabular.report import (
    PREVIEW,
    ErrorReport,
    Refused,
    ReportStore,
    write_error_report,
)
from govshare.core.tabular.writers import (
    export_cell,
    feature,
    geojson_chunks,
    neutralize,
    rows_as_features,
    unneutralize,
    write_csv,
    write_xlsx,
    write_xlsx_sheets,
)

__all__ = [
    "FORMATS", "GEOMETRY", "KBTU_PER_UNIT", "MAX_COLUMNS", "MEDIA_TYPES", "MISSING", "PREVIEW",
    "CellError",
    "Converter", "Derived", "ErrorReport", "FileRefused", "Layout", "MappingError", "Plan",
    "Preset", "RawRow", "Refused", "ReportStore", "RowError", "Table", "bool_converter",
    "bounds", "detect_format", "dollars_converter", "enum_converter", "enum_key", "export_cell",
    "feature", "field_converter", "float_converter", "geojson_chunks", "header_key",
    "int_converter", "load_json", "make_plan", "mapped", "model_converters", "parse_mapping",
    "neutralize", "open_table", "rows_as_features", "shown", "str_converter", "unneutralize",
    "write_csv", "write_error_report", "write_xlsx", "write_xlsx_sheets", "year_converter",
    "zip_converter",
]
