"""Users, roles, login, organisations and applicant groups."""
