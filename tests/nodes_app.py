"""The application as tests/test_nodes.py serves it with gunicorn (``tests.nodes_app:app``): ``programme.wsgi``'s app,
with the programme's clock moved by ``NODES_CLOCK_OFFSET_SECONDS`` to the loan world's time (tests/loans/world.py),
so that a repayment of its schedule can be recorded "today". Heartbeats and /healthz use the wall clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from programme.core import timezone

_offset = timedelta(seconds=float(os.environ.get("NODES_CLOCK_OFFSET_SECONDS") or 0))
timezone._clock = lambda: datetime.now(UTC) + _offset

from programme.wsgi import app  # noqa: E402

__all__ = ["app"]
