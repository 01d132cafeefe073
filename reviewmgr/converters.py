"""`<id:pk>` in URL patterns: a row's id, at most 18 digits. Django's `<int:...>` takes any
length, and an id past the database's 64-bit integers then fails in the query (a 500);
here it simply matches no address (a 404), as an id that does not exist."""


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
