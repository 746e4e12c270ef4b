"""Metering domain: plain objects and rules, no framework."""
