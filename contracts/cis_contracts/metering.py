"""Contracts of the metering service."""
