"""Fleet: vehicle inventory per member, fuel-card and trip-log imports, right-sizing,
pooling across members and electrification (issue 11; docs/architecture.md, "Fleet")."""
