"""The phases of a run, in dependency order: customers, items, sales, receipts."""
