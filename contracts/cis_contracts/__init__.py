"""Every message that crosses a service boundary, named and versioned.

Import `registry` to look a message up by name; importing this package loads every
area module so the registry is complete.
"""
from cis_contracts.registry import MESSAGES, Message, get, validate  # noqa: F401
from cis_contracts import envelope  # noqa: F401
from cis_contracts import accounts, metering, billing, collections, notifications, operations, platform  # noqa: F401
