"""Platform core: settings, database and unit of work, tenancy policy, errors, audit, HTTP glue.

``core`` imports no domain. Everything above it may import it.
"""
