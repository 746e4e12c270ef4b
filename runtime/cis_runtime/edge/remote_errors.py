"""Make the suite's domain errors cross RPC as themselves rather than as RemoteError."""
from nameko.exceptions import deserialize_to_instance

from cis_runtime import errors

for _error in (errors.NotFound, errors.InvalidInput, errors.Conflict, errors.DomainError):
    deserialize_to_instance(_error)
