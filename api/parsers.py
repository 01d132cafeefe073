from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL = "\x00"


class JSONWithoutNullBytes(JSONParser):
    """JSON whose text holds no null byte (\\u0000): PostgreSQL can store none, and a form
    field holding one is refused the same way (reviewmgr.middleware)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        where = _null_byte_in(data, "")
        if where is not None:
            raise ParseError(f"{where or 'The body'} contains a null byte (\\u0000), "
                             "which no part of reviewmgr accepts.")  # fmt: skip
        return data


def _null_byte_in(value, where: str) -> str | None:
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return f"A field name in {where or 'the body'}"
            found = _null_byte_in(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _null_byte_in(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None
