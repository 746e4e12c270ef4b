"""Errors the service layers raise and the gateway maps to HTTP (one table, in the gateway).

Plain exceptions: the nameko edge registers them so they cross RPC as themselves.
"""


class DomainError(Exception):
    """Base of errors that are the caller's to fix, not the service's."""


class NotFound(DomainError):
    """The thing asked for does not exist: args (what, key)."""


class InvalidInput(DomainError):
    """Input failed validation: args (field_errors) where field_errors maps field -> messages."""

    def __init__(self, field_errors):
        super().__init__(field_errors)
        self.field_errors = field_errors


class Conflict(DomainError):
    """The request contradicts what is stored (a duplicate, a state that forbids it)."""


class InvalidMessage(Exception):
    """A consumed message is malformed: retrying cannot help, so it is dead-lettered at once."""
