"""Telephone numbers: the one check of a number a person gives (a public contact on an asset's
page, a resident's phone on a service request, a tell-us-once reporter's contact), and the one
way it is written back.

The number is read by ``phonenumbers`` (Google's libphonenumber), with the United States as
the region of a number written without a country code, and accepted when
``phonenumbers.is_valid_number`` holds: a US number with its area code (206-555-0100,
(206) 555-0100, 1-206-555-0100, +1 206 555 0100), or any country's number written with its
+ and country code (+44 20 7946 0000). An extension (x12, ext. 12, extension 12, #12) is kept,
up to ``EXTENSION_MAX`` digits.

It is stored and shown one way: a US number (the territories' too: Puerto Rico, the Virgin
Islands, Guam, American Samoa, the Northern Marianas) in its national format,
"(206) 555-0100", any other (Canada and the other +1 countries too) in international
format, "+44 20 7946 0000", "+1 416-555-0100"; an extension always as " ext. 12".

555-01xx numbers (555-0100 to 555-0199) are reserved for fiction, and the demo and the tests
use them. libphonenumber's US metadata (``phonenumbers`` 9.0) counts them as valid numbers of
any area code in use, so no exception is made for them here; ``tests/core/test_phones.py``
fails if a later release stops accepting "206-555-0100".

Before the library reads it, the text must hold only what people write in a number: digits,
spaces, ``( ) . - /``, a leading +, and an extension. The library itself is lenient with
text: it reads letters as a keypad's digits (1-800-FLOWERS), skips words before the number
("call me 206-555-0100") and ignores control characters, and each of those would be stored
as a number nobody typed.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

PHONE_MAX = 30  # characters, as given and as written back; the column is 30 (asset) or 40
EXTENSION_MAX = 6  # digits
DEFAULT_REGION = "US"
US_REGIONS = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})  # written in national format
EXAMPLE = "like 206-555-0100, or +44 20 7946 0000"
_SHAPE = re.compile(r"\+?[0-9 ().\-/]+(?: *(?:x|ext\.?|extension|#) *[0-9]+)?", re.IGNORECASE)
_EXTENSION = re.compile(r"(?i)x|ext|#")
_NOT_A_NUMBER = f"is not a telephone number ({EXAMPLE})"


def check_phone(value: str) -> str:
    """``value`` as a telephone number written the one stored way ("(206) 555-0100",
    "(206) 555-0100 ext. 12", "+44 20 7946 0000"); ValueError saying what is wrong otherwise
    (the rules are in the module's docstring). The length is checked first, so that no more
    than ``PHONE_MAX`` characters are ever parsed."""
    if len(value) > PHONE_MAX:
        raise ValueError(f"must be at most {PHONE_MAX} characters")
    text = value.strip()
    if not _SHAPE.fullmatch(text):
        raise ValueError(_NOT_A_NUMBER)
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
            raise ValueError("does not start with a country code after its + "
                             f"({EXAMPLE})") from None
        if exc.error_type in (NumberParseException.TOO_SHORT_NSN,
                              NumberParseException.TOO_SHORT_AFTER_IDD):
            raise ValueError(f"is too short for a telephone number ({EXAMPLE})") from None
        if exc.error_type == NumberParseException.TOO_LONG:
            raise ValueError(f"is too long for a telephone number ({EXAMPLE})") from None
        raise ValueError(_NOT_A_NUMBER) from None
    if number.extension and len(number.extension) > EXTENSION_MAX:
        raise ValueError(f"has an extension of {len(number.extension)} digits; an extension "
                         f"has at most {EXTENSION_MAX}")
    if not phonenumbers.is_valid_number(number):
        raise ValueError(_invalid_reason(text, number))
    region = phonenumbers.region_code_for_number(number)
    extension, number.extension = number.extension, None
    # The extension is written " ext. 12" for every country (the library would write some
    # countries' " x12").
    written = phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if region in US_REGIONS
        else PhoneNumberFormat.INTERNATIONAL) + (f" ext. {extension}" if extension else "")
    if len(written) > PHONE_MAX:  # a long international number with a long extension
        raise ValueError(f"is longer than {PHONE_MAX} characters once written out "
                         f"({written})")
    return written


def _invalid_reason(text: str, number: phonenumbers.PhoneNumber) -> str:
    """Why a number that parsed is not valid, in words: its length, or (for a number of the
    US plan, +1) its area code or exchange."""
    possible = phonenumbers.is_possible_number_with_reason(number)
    digits = sum(c.isdigit() for c in _EXTENSION.split(text)[0])
    if number.country_code == 1 and not text.startswith("+"):
        if possible != ValidationResult.IS_POSSIBLE:
            return (f"has {digits} digits; a US telephone number has 10, with its area code "
                    f"({EXAMPLE})")
        return _us_reason(number)
    if possible == ValidationResult.INVALID_COUNTRY_CODE:
        return f"does not start with a country code after its + ({EXAMPLE})"
    if possible == ValidationResult.TOO_SHORT:
        return f"has too few digits for a number of country code +{number.country_code}"
    if possible in (ValidationResult.TOO_LONG, ValidationResult.INVALID_LENGTH):
        return (f"does not have the right number of digits for a number of country code "
                f"+{number.country_code}")
    if number.country_code == 1:
        return _us_reason(number)
    return f"is not a telephone number of country code +{number.country_code} ({EXAMPLE})"


def _us_reason(number: phonenumbers.PhoneNumber) -> str:
    national = str(number.national_number)
    area, exchange = national[:3], national[3:6]
    if exchange[:1] in ("0", "1"):
        return (f"is not a telephone number: the three digits after the area code "
                f"({exchange}) cannot start with {exchange[0]}")
    return f"is not a telephone number: {area} is not an area code in use ({EXAMPLE})"


def tel_uri(value: str) -> str:
    """A stored number as a link's target (RFC 3966): "tel:+1-206-555-0100;ext=12". A number
    stored under the earlier, looser rule that is not valid keeps only its + and digits."""
    text = value[:PHONE_MAX]
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return "tel:" + "".join(c for c in text if c in "+0123456789")
    return phonenumbers.format_number(number, PhoneNumberFormat.RFC3966)
