"""Tests of the review area."""
