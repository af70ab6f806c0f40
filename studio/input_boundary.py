"""One input boundary for every request: text no database can store and numbers no query can use stop here.

Checked before any view runs, for every API operation and page:
- the query string: longer than MAX_QUERY_STRING → 414; a parameter (name or value) with a NUL byte or a lone
  UTF-16 surrogate → 422 on the API, 400 on pages, naming the parameter; a whole number beyond ±MAX_INTEGER → the same;
- a JSON body: every string (keys included) and every integer, walked, with the field's path in the error;
- a form body (urlencoded or multipart fields): every value.
PostgreSQL text refuses NUL (psycopg.DataError: a 500), a lone surrogate cannot be encoded to UTF-8 (a 500
anywhere it is written), and an integer beyond 64 bits overflows an OFFSET. Views never see any of these.
"""

import json
import re

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import render

from studio.upload_guard import upload_route

MAX_QUERY_STRING = 8 * 1024  # bytes; browsers send far less, and daphne refuses ~16 KB with no response at all
MAX_INTEGER = 2**53 - 1  # the largest integer every client (JavaScript included) holds exactly
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class Refused(Exception):
    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "must not contain a NUL byte"
    if _SURROGATE.search(value):
        return "must not contain a lone UTF-16 surrogate"
    return None


def number_problem(value: int) -> str | None:
    if abs(value) > MAX_INTEGER:
        return f"is out of range (at most {MAX_INTEGER:,} either way)"
    return None


def check_text(field: str, value: str) -> None:
    if problem := text_problem(value):
        raise Refused(field, f"{field} {problem}")


def check_query(params) -> None:
    for name, values in params.lists():
        check_text(name, name)
        for value in values:
            check_text(name, value)
            if problem := query_number_problem(value):
                raise Refused(name, f"{name} {problem}")


def query_number_problem(value: str) -> str | None:
    """A whole number in a query string out of range, read as the parsers read it. Python's whitespace (what `strip`
    removes) is wider than `int`'s: "9\x1e" strips to "9" but `int` refuses it, so the stripped text is converted; and
    `int` refuses a text of over 4,300 digits, far past the range, so the digits are counted first."""
    number = value.strip()
    if not _WHOLE_NUMBER.fullmatch(number):
        return None
    if len(number.lstrip("+-").lstrip("0")) > len(str(MAX_INTEGER)):
        return number_problem(MAX_INTEGER + 1)
    return number_problem(int(number))


def check_json(value, path: str = "") -> None:
    """Every string and integer in a parsed JSON document; `path` names where (layers.soul.name; "body" for the root)."""
    where = path or "body"
    if isinstance(value, str):
        check_text(where, value)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if problem := number_problem(value):
            raise Refused(where, f"{where} {problem}")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(f"{where} (a key)", key)
            check_json(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, f"{where}[{index}]")


def check_body(request) -> None:
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            raw = request.body
        except (RawPostDataException, RequestDataTooBig):
            return  # already read as a stream, or too big: the view answers as it would have
        if not raw:
            return
        try:
            document = json.loads(raw)
        except ValueError:
            return  # not JSON: the view says so, with its own 4xx
        check_json(document)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if content_type == "multipart/form-data" and upload_route(request.path) is None:
            try:  # keep the raw body readable for the view (an API operation reads JSON from it)
                request.body  # noqa: B018
            except (RawPostDataException, RequestDataTooBig):
                return  # read already, or too big for memory: the view answers as it would have
        for name, values in request.POST.lists():
            check_text(name, name)
            for value in values:
                check_text(name, value)


class InputBoundaryMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        api = request.path.startswith("/v1/")
        raw_query = request.META.get("QUERY_STRING", "")
        if len(raw_query) > MAX_QUERY_STRING:
            return self._refuse(request, api, Refused("query string", f"the query string is {len(raw_query):,} bytes; "
                                                      f"at most {MAX_QUERY_STRING:,} are accepted", status=414))
        try:
            check_query(request.GET)
            check_body(request)
        except Refused as refused:
            return self._refuse(request, api, refused)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, api: bool, refused: Refused):
        if api:
            return JsonResponse({"detail": [{"loc": [refused.field], "msg": refused.message}]}, status=refused.status)
        from studio.errors import StudioError

        status = refused.status if refused.status == 414 else 400
        error = StudioError(refused.message, field=refused.field)
        error.status_code = status
        return render(request, "error.html", {"error": error}, status=status)
