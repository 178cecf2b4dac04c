"""Assets in and out of the registry: ``importer`` (all-or-nothing bulk import, ADR 7),
``exporter`` (streamed CSV/XLSX/GeoJSON), ``presets`` (the column layouts a file may follow),
``fileio`` (the asset-specific cell rules on top of the shared readers) and ``pages`` (the
upload page and the export download)."""
