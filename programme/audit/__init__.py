"""The audit log people read: the page where programme managers and auditors filter the log by object, person,
action and period, follow an entry to its object, and export it to Excel. The log itself (the model and
``record``) is ``core.audit``'s; this area only reads it.

Rooms: ``services`` (who reads, the filter, the query, a page, the links), ``forms`` (the filter form),
``export`` (the workbook), ``views`` (the pages)."""
