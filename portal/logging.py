"""Logging filter stamping every record with the request id, so one request's lines can be grepped."""

import logging

from portal.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True
