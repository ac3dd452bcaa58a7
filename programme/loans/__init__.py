"""Loans: revolving-fund loans, their schedules, repayments and arrears."""
