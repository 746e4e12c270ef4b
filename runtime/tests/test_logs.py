"""What reaches the log (issue 10): a caller's error on one line, long values cut, no SQL parameters."""
import io
import logging
import sys

import pytest
import sqlalchemy as sa

from cis_runtime import config, db, logs
from cis_runtime.errors import InvalidInput


def logged(level: int, msg: str, *args, exc_info=None) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    logs.install_filters(handler)
    logger = logging.getLogger("test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.log(level, msg, *args, exc_info=exc_info)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def exc_info_of(exc: BaseException):
    try:
        raise exc
    except type(exc):
        return sys.exc_info()


def test_a_refused_request_is_one_line_without_a_traceback():
    text = logged(logging.WARNING, "(expected) error handling worker %s: %s", "<billing.post_payment>",
                  "{'amount': ['Not a valid amount.']}",
                  exc_info=exc_info_of(InvalidInput({"amount": ["Not a valid amount."]})))
    assert text.count("\n") == 1 and "Traceback" not in text and " INFO " in text


def test_a_bug_keeps_its_traceback():
    text = logged(logging.ERROR, "error handling worker", exc_info=exc_info_of(KeyError("x")))
    assert "Traceback" in text and " ERROR " in text


def test_a_megabyte_id_is_cut_to_a_few_hundred_characters():
    text = logged(logging.INFO, "account %s not found", "A" * 1_000_000)
    assert len(text) < logs.MAX_MESSAGE + 200 and "1,000,018 characters" in text


@pytest.fixture
def engine():
    made = db.make_engine(config.database_url("billing").rsplit("/", 1)[0] + "/postgres", pool_size=1)
    yield made
    made.dispose()


NOTE = {"note": "Ana Reyes check 4411 $64.55"}  # not on the line that fails: the traceback shows that line


def test_a_database_error_is_logged_by_its_code_and_statement_not_the_values_it_carried(engine):
    with pytest.raises(sa.exc.DBAPIError) as failed:
        with engine.connect() as connection:
            connection.execute(sa.text("select cast(:note as integer)"), NOTE)
    assert "Ana Reyes" in str(failed.value)  # PostgreSQL quotes the value in its own message...
    text = logged(logging.ERROR, "error handling worker %s: %s", "<billing.post_payment>", failed.value,
                  exc_info=(type(failed.value), failed.value, failed.value.__traceback__))
    assert "Ana Reyes" not in text and "4411" not in text  # ...which never reaches the log
    assert "SQLSTATE 22P02" in text and "select cast(%(note)s as integer)" in text and "Traceback" in text
