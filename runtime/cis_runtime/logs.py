"""How every process logs (issue 10): a caller's error is one line, no value is logged at length, and
no value a database error carried reaches the log: SQLAlchemy's parameter list is hidden (engines are
made with hide_parameters, cis_runtime.db), and PostgreSQL's own message, which quotes the offending
value ('invalid input syntax ... "Ana Reyes"', 'Key (reference)=(CHK-1)'), is replaced by its SQLSTATE,
table, column and constraint and the statement with its placeholders.

A request refused for its input (InvalidInput, NotFound, Conflict) is the caller's mistake, not the
service's: nameko logs it with a traceback, which repeats what the caller sent; here it becomes one
line. Any logged message longer than MAX_MESSAGE characters is cut, so a 1 MB id cannot flood the log.
"""
import logging
import traceback

from cis_runtime.errors import Conflict, InvalidInput, NotFound

CALLER_ERRORS = (InvalidInput, NotFound, Conflict)
MAX_MESSAGE = 500
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CallerErrorsOnOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], CALLER_ERRORS):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class DatabaseErrorsWithoutValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _is_database_error(record.exc_info[1]):
            _, exc, tb = record.exc_info
            record.exc_info = None
            record.exc_text = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb)) + described(exc)
        if isinstance(record.args, tuple) and any(_is_database_error(arg) for arg in record.args):
            record.args = tuple(described(arg) if _is_database_error(arg) else arg for arg in record.args)
        return True


def _is_database_error(value) -> bool:
    return isinstance(value, BaseException) and (hasattr(value, "pgcode") or hasattr(getattr(value, "orig", None), "pgcode"))


def described(exc: BaseException) -> str:
    """A database error as what it is and where, without the values it quotes."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    where = [f"{name} {value}" for name in ("table", "column", "constraint")
             if (value := getattr(diag, f"{name}_name", None))]
    statement = " ".join(str(getattr(exc, "statement", "") or "").split())[:200]
    return (f"{type(orig).__name__} (SQLSTATE {getattr(orig, 'pgcode', None)}{', ' if where else ''}{', '.join(where)})"
            + (f" in: {statement}" if statement else ""))


class ShortMessages(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > MAX_MESSAGE:
            record.msg, record.args = f"{message[:MAX_MESSAGE]}... ({len(message):,} characters)", None
        return True


def configure(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        install_filters(handler)


def install_filters(handler: logging.Handler) -> None:
    handler.addFilter(CallerErrorsOnOneLine())
    handler.addFilter(DatabaseErrorsWithoutValues())
    handler.addFilter(ShortMessages())
