"""What every area of the programme uses: database base, money, audit, access, spreadsheets, notifications."""
