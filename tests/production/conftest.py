import pytest

from tests.production.stack import Stack
from tests.screening.conftest import records  # noqa: F401  (a fixture shared with screening)


@pytest.fixture
def stack(tmp_path):
    stack = Stack(tmp_path)
    try:
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.close()
