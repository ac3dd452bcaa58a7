"""Calls for proposals: created from a rules file, opened, closed; their public pages."""
