"""The ceiling of this stack for the page benchmark (``bench/pages_bench.py``): a bare Flask application whose
one page runs one indexed query on a 100,000-row table and renders the 50 rows it finds as an HTML table with
Jinja. Served by the same server with the same workers as the application, it answers as fast as a page of this
stack on this machine can: a page of the application is measured as a share of it.

    create_table(url)                          # once: the table and its index, in the benchmark's database
    CEILING_DATABASE_URL=... gunicorn --pythonpath bench 'ceiling_app:create_ceiling_app()'
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from flask import Flask, render_template
from jinja2 import DictLoader
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    text,
)

ROWS = 100_000
PAGE = 50
CATEGORIES = ROWS // PAGE  # each category has 50 rows: one page

metadata = MetaData()
rows_table = Table(
    "ceiling_rows", metadata,
    Column("id", Integer, primary_key=True),
    Column("category", Integer, nullable=False),
    Column("name", String(120), nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_ceiling_rows_category_id", "category", "id"),
)

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Category {{ category }}</title></head>
<body>
<h1>Category {{ category }}</h1>
<table>
  <thead><tr><th>#</th><th>Name</th><th>Amount</th><th>Created</th></tr></thead>
  <tbody>
  {% for row in rows %}
    <tr><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ "{:,.2f}".format(row.amount) }}</td>
        <td>{{ row.created_at.strftime("%Y-%m-%d %H:%M") }}</td></tr>
  {% endfor %}
  </tbody>
</table>
</body>
</html>
"""


def create_table(url: str, rows: int = ROWS) -> None:
    """The table, filled with ``rows`` rows in ``rows // 50`` categories, and its statistics."""
    engine = create_engine(url)
    metadata.create_all(engine)
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as connection:
        for first in range(0, rows, 10_000):
            connection.execute(insert(rows_table), [
                {"id": i + 1, "category": i % CATEGORIES, "name": f"Member organisation {i + 1} of the cluster",
                 "amount": Decimal(rng.randrange(100, 10_000_000)) / 100,
                 "created_at": start + timedelta(minutes=i)}
                for i in range(first, min(rows, first + 10_000))])
    with engine.begin() as connection:
        connection.execute(text("ANALYZE ceiling_rows"))
    engine.dispose()


def create_ceiling_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"page.html": TEMPLATE})
    engine = create_engine(url or os.environ["CEILING_DATABASE_URL"])
    query = (select(rows_table.c.id, rows_table.c.name, rows_table.c.amount, rows_table.c.created_at)
             .where(rows_table.c.category == bindparam("category")).order_by(rows_table.c.id).limit(PAGE))

    @app.get("/")
    def page():
        category = random.randrange(CATEGORIES)
        with engine.connect() as connection:
            found = connection.execute(query, {"category": category}).all()
        return render_template("page.html", rows=found, category=category)

    return app
