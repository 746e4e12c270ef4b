"""Contracts of the billing service."""
