"""Contracts of the notifications service."""
