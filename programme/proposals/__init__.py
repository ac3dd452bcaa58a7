"""Proposals: drafted in sections by an applicant group, checked for eligibility, submitted as frozen versions."""
