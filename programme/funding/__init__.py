"""Initiatives, grants, co-financing, funding requests, disbursements, the external-share schedule."""
