"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator

# Every integer column is 32-bit on PostgreSQL (ids included): a larger number can name
# nothing and store nowhere, and handing it to the database fails (SQLite: above 2**63).
MAX_ID = 2**31 - 1


class UTCDateTime(TypeDecorator):
    """An instant: stored as naive UTC (the same on SQLite and PostgreSQL), always returned
    as an aware UTC datetime. Refuses naive datetimes so no local time slips in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
