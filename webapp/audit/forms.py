"""The audit log's filter form: a GET form (it changes nothing, so no CSRF token)."""

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask import request

from ..services import audit as service
from ..services.validation import Errors

NAMES = ("object_type", "object_id", "user_id", "action", "from", "to")


@dataclass
class FilterForm:
    values: dict                  # what was typed, to show it again
    filters: service.Filters
    errors: dict = field(default_factory=dict)

    @property
    def args(self) -> dict:
        """The filters as a query string's arguments (for the pager and the export)."""
        return {name: value for name, value in self.values.items() if value}


def read(zone: ZoneInfo) -> FilterForm:
    """The filters of the request's query string; dates are whole days in `zone`."""
    values = {name: request.args.get(name, "")[:100] for name in NAMES}
    errors = Errors()
    filters = service.read_filters(values, errors)
    filters.start, filters.end = service.local_period(values["from"], values["to"], zone,
                                                      errors)
    return FilterForm(values, filters, errors.fields)
