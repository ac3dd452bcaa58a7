"""The JSON API under ``/api/v1``, for the systems around the programme (an accounting system, a bank integration,
a donor's reports).

It is a second door onto the same rooms, not a second house: every route loads through the areas' services with the
caller as the actor, so the same access rules and the same four-eyes rules hold as on the pages. Rooms:

- ``auth``: who calls (a personal access token in ``Authorization: Bearer``), with which scopes, throttled per
  token;
- ``schemas``: the pydantic shapes of what goes in and out (money as decimal strings, dates ISO 8601);
- ``pagination``: opaque cursors over a stable order;
- ``spec``: the OpenAPI 3.1 description, generated from the routes' declared shapes by SpecTree;
- ``views``: the blueprint, one module per area.

Errors are ``application/problem+json`` (RFC 9457) with the field a refusal is about (``core.web`` answers them
for every path under ``/api/``).
"""
