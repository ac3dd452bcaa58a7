"""The double-entry ledger: accounts, journal entries, balances, the trial balance, its checks, pages and exports."""
