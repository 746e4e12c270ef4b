"""Contracts of the collections service."""
