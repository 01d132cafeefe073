"""The one error of the synthesis package, and the checks that turn typed input into floats.

Numbers reach this package from forms, spreadsheets and the database as ``int``, ``float``,
``Decimal`` or text. Each is converted once, here, so that no later arithmetic meets a
``Decimal`` beside a ``float``, an ``int`` too large for a float, or ``x ** 2`` that overflows
(``1e200 ** 2`` raises ``OverflowError`` where ``1e200 * 1e200`` gives infinity).
"""

import math
from numbers import Integral

# An arm larger than this is a typing error, not a trial; beyond it 1/n loses meaning too.
MAX_PARTICIPANTS = 10**12


class SynthesisError(ValueError):
    """The data cannot be pooled; the message says why in words a reviewer understands."""


def finite(value: object, what: str) -> float:
    """``value`` as a finite float, or ``SynthesisError`` saying which number is unusable."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise SynthesisError(f"{what} must be a number ({value!r} given)") from None
    if not math.isfinite(number):
        raise SynthesisError(f"{what} must be a finite number ({value!r} given)")
    return number


def count(value: object, what: str, *, minimum: int) -> int:
    """A whole number of people or events between ``minimum`` and ``MAX_PARTICIPANTS``.

    Integral floats (``30.0``, ``1e9``) are accepted, as spreadsheets store counts that way.
    """
    if isinstance(value, bool):
        raise SynthesisError(f"{what} must be a whole number ({value!r} given)")
    if isinstance(value, Integral):
        whole = int(value)
    else:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            raise SynthesisError(f"{what} must be a whole number ({value!r} given)") from None
        if not (math.isfinite(number) and number.is_integer()):
            raise SynthesisError(f"{what} must be a whole number ({value!r} given)")
        whole = int(number)
    if whole < minimum:
        raise SynthesisError(f"{what} must be at least {minimum} ({value!r} given)")
    if whole > MAX_PARTICIPANTS:
        raise SynthesisError(f"{what} is implausibly large ({value!r} given)")
    return whole


def confidence_level(level: object) -> float:
    number = finite(level, "the confidence level")
    if not 0 < number < 1:
        raise SynthesisError(f"the confidence level must lie between 0 and 1; {level} given")
    return number
