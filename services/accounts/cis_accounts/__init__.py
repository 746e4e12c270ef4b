"""Accounts service: who takes water, where, through which authorized connection."""
