"""US English in stored names: the product serves US governments.

- ``proposals.organisation`` becomes ``proposals.organization`` (the public proposal form's
  field, the API's ``organization``).
- The demo's sample content already stored in a database (services, journeys and tell-us-once
  agencies marked ``sample``, and the answers of requests to sample services) takes the US
  spellings the demo now writes: tire, harbor, license, trash. Content a region wrote itself
  (``sample`` false) is left as its authors wrote it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 00:30:00
"""

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The words the demo content used, and back (downgrade restores the sample text as it was).
US = {"tyres": "tires", "Tyres": "Tires", "tyre": "tire", "harbour": "harbor",
      "licence": "license", "Licence": "License", "rubbish": "trash"}
UK = {v: k for k, v in US.items() if k not in ("rubbish",)}


def _swap(value: Any, words: dict[str, str]) -> Any:
    if value is None:
        return None
    text = json.dumps(value) if not isinstance(value, str) else value
    pattern = re.compile(r"(?<![A-Za-z])(" + "|".join(map(re.escape, words)) + r")(?![A-Za-z])")
    swapped = pattern.sub(lambda m: words[m.group(1)], text)
    return swapped if isinstance(value, str) else json.loads(swapped)


def _samples(words: dict[str, str]) -> None:
    conn = op.get_bind()
    tables = {
        "services": ("name", "description", "keywords", "attributes", "search_text"),
        "journeys": ("title", "summary", "steps"),
        "tellusonce_subscriptions": ("name", "purpose"),
    }
    json_columns = {"keywords", "attributes", "steps"}
    for name, columns in tables.items():
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("sample", sa.Boolean),
                         *[sa.column(c, sa.JSON if c in json_columns else sa.Text)
                           for c in columns])
        rows = conn.execute(sa.select(table).where(table.c.sample.is_(True))).mappings().all()
        for row in rows:
            changed = {c: _swap(row[c], words) for c in columns}
            if any(changed[c] != row[c] for c in columns):
                conn.execute(table.update().where(table.c.id == row["id"]).values(**changed))
    services = sa.table("services", sa.column("id", sa.Integer), sa.column("sample", sa.Boolean))
    requests = sa.table("service_requests", sa.column("id", sa.Integer),
                        sa.column("service_id", sa.Integer), sa.column("attributes", sa.JSON))
    sample_ids = sa.select(services.c.id).where(services.c.sample.is_(True))
    for row in conn.execute(sa.select(requests).where(
            requests.c.service_id.in_(sample_ids))).mappings().all():
        swapped = _swap(row["attributes"], words)
        if swapped != row["attributes"]:
            conn.execute(requests.update().where(requests.c.id == row["id"])
                         .values(attributes=swapped))


def upgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.alter_column('organisation', new_column_name='organization',
                              existing_type=sa.String(length=200), existing_nullable=True)
    _samples(US)


def downgrade() -> None:
    _samples(UK)
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.alter_column('organization', new_column_name='organisation',
                              existing_type=sa.String(length=200), existing_nullable=True)
