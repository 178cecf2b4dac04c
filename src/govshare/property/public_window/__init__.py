"""The public window: surplus, vacant and under-used property anyone can see, with proposals
for a use and challenges to the current one. ``service`` (the rules the pages and the API
share), ``pages`` (HTML and the CSV/GeoJSON feeds), ``api`` (JSON)."""
