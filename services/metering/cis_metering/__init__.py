"""Metering service: meters, installations, register reads and the consumption billing charges for."""
