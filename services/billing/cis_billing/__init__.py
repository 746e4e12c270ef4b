"""Billing service: tariffs as data, bill runs, bills, the account ledger and payments."""
