"""Unit tests for tenants.validators (pure functions, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenants.validators import (
    CREDIT_CODE_CHARSET,
    MESSAGES,
    ValidationError,
    make_valid_credit_code,
    make_valid_resident_id,
    validate_credit_code,
    validate_email,
    validate_landline,
    validate_mobile,
    validate_resident_id,
)


def error_code(func, value, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        func(value, **kwargs)
    return info.value.code


# ---------------------------------------------------------------------------
# ValidationError and messages
# ---------------------------------------------------------------------------


def test_validation_error_attributes():
    with pytest.raises(ValidationError) as info:
        validate_credit_code("91350100M000100Y44")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.field == "credit_code"
    assert err.code == "credit_code.checksum"
    assert err.message == "The check character of the unified social credit code is wrong."
    assert str(err) == err.message


def test_field_name_can_be_overridden_but_code_keeps_kind():
    with pytest.raises(ValidationError) as info:
        validate_mobile("12345678901", field="contact_mobile")
    assert info.value.field == "contact_mobile"
    assert info.value.code == "mobile.prefix"


def test_messages_are_distinct_english_sentences():
    assert len(set(MESSAGES.values())) == len(MESSAGES)
    for code, message in MESSAGES.items():
        kind, _, reason = code.partition(".")
        assert kind in {"credit_code", "resident_id", "mobile", "landline", "email"} and reason
        assert message.isascii() and message[0].isupper() and message.endswith(".")


@pytest.mark.parametrize(
    "func,kind",
    [
        (validate_credit_code, "credit_code"),
        (validate_resident_id, "resident_id"),
        (validate_mobile, "mobile"),
        (validate_landline, "landline"),
        (validate_email, "email"),
    ],
)
@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_input_is_required_error(func, kind, blank):
    assert error_code(func, blank) == f"{kind}.required"


# ---------------------------------------------------------------------------
# Unified social credit code
# ---------------------------------------------------------------------------


def test_published_credit_code_is_valid():
    assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"


def test_credit_code_is_stripped_and_upper_cased():
    assert validate_credit_code("  91350100m000100y43\n") == "91350100M000100Y43"


@pytest.mark.parametrize(
    "prefix17",
    [
        "91110000100000000",  # enterprise, Beijing
        "91440300MA5D00000",  # enterprise, Shenzhen, "MA" style organisation code
        "12100000400000000",  # public institution
        "52310000MJ0000000",  # social organisation, Shanghai
        "92330100MA2AAAAAA",  # individual business
    ],
)
def test_generated_credit_codes_are_valid(prefix17):
    code = make_valid_credit_code(prefix17)
    assert code[:17] == prefix17 and len(code) == 18
    assert validate_credit_code(code) == code
    assert validate_credit_code(code.lower()) == code


def test_credit_code_check_char_can_be_zero():
    # Find a prefix whose weighted sum is a multiple of 31 (31 maps to 0).
    for n in range(1000):
        code = make_valid_credit_code(f"91350100M{n:08d}")
        if code.endswith("0"):
            assert validate_credit_code(code) == code
            break
    else:  # pragma: no cover
        pytest.fail("no prefix with check character 0 found")


@pytest.mark.parametrize("last", ["0", "1", "Y", "A", "X"])
def test_credit_code_wrong_check_char(last):
    assert error_code(validate_credit_code, "91350100M000100Y4" + last) == "credit_code.checksum"


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y4", "91350100M000100Y433", "9135", "91350100M000100Y43" * 2],
)
def test_credit_code_wrong_length(code):
    assert error_code(validate_credit_code, code) == "credit_code.length"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "i", "o", "z", "s", "v"])
def test_credit_code_forbidden_letters(letter):
    code = "91350100M000100Y43"
    bad = code[:9] + letter + code[10:]  # inside the organisation code
    assert error_code(validate_credit_code, bad) == "credit_code.charset"
    bad_first = letter + code[1:]
    assert error_code(validate_credit_code, bad_first) == "credit_code.charset"


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y4-",
        "91350100M000100 43",
        "９1350100M000100Y43",  # full-width digit
        "91350100M00010\ufb0043",  # "ff" ligature upper-cases to "FF"
    ],
)
def test_credit_code_other_bad_characters(code):
    assert error_code(validate_credit_code, code) == "credit_code.charset"


def test_credit_code_region_must_be_digits():
    # Letters from the charset at index 2..7 are rejected even with a right check char.
    code = make_valid_credit_code("91A50100M000100Y4")
    assert error_code(validate_credit_code, code) == "credit_code.region"
    code = make_valid_credit_code("9135010AM000100Y4")
    assert error_code(validate_credit_code, code) == "credit_code.region"


def test_make_valid_credit_code_rejects_bad_prefix():
    with pytest.raises(ValueError):
        make_valid_credit_code("9135010")
    with pytest.raises(ValueError):
        make_valid_credit_code("91350100I000100Y4")


_charset = st.sampled_from(CREDIT_CODE_CHARSET)
_digit = st.sampled_from("0123456789")
_credit_prefix = st.tuples(
    st.lists(_charset, min_size=2, max_size=2),
    st.lists(_digit, min_size=6, max_size=6),
    st.lists(_charset, min_size=9, max_size=9),
).map(lambda parts: "".join(parts[0] + parts[1] + parts[2]))


@given(prefix=_credit_prefix)
def test_property_made_credit_code_validates_and_only_its_check_char_does(prefix):
    code = make_valid_credit_code(prefix)
    assert validate_credit_code(code) == code
    for other in CREDIT_CODE_CHARSET:
        if other != code[17]:
            with pytest.raises(ValidationError) as info:
                validate_credit_code(code[:17] + other)
            assert info.value.code == "credit_code.checksum"


# ---------------------------------------------------------------------------
# Resident identity card number
# ---------------------------------------------------------------------------

TODAY = dt.date(2024, 6, 15)


def test_published_resident_id_is_valid():
    assert validate_resident_id("11010519491231002X") == "11010519491231002X"


def test_resident_id_lower_case_x_is_normalised():
    assert validate_resident_id(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    "first17",
    [
        "44030419900101123",
        "31011519851231456",
        "51010720000229789",  # leap day
        "11010519000101001",  # earliest accepted birth date
    ],
)
def test_generated_resident_ids_are_valid(first17):
    number = make_valid_resident_id(first17)
    assert number[:17] == first17 and len(number) == 18
    assert validate_resident_id(number, today=TODAY) == number


@pytest.mark.parametrize("last", ["0", "1", "9"])
def test_resident_id_wrong_check_char(last):
    assert error_code(validate_resident_id, "110105194912310021"[:17] + last) == (
        "resident_id.checksum"
    )


@pytest.mark.parametrize(
    "number", ["11010519491231002", "11010519491231002X1", "110105194912310", "1" * 15]
)
def test_resident_id_wrong_length(number):
    assert error_code(validate_resident_id, number) == "resident_id.length"


@pytest.mark.parametrize(
    "number",
    [
        "1101051949123100XX",  # X only allowed last
        "11010519491231002Y",
        "A1010519491231002X",
        "１1010519491231002X",  # full-width digit
    ],
)
def test_resident_id_format(number):
    assert error_code(validate_resident_id, number) == "resident_id.format"


def test_resident_id_future_birth_date():
    number = make_valid_resident_id("11010520240616001")  # day after TODAY
    assert error_code(validate_resident_id, number, today=TODAY) == "resident_id.birth_date_future"
    today_birth = make_valid_resident_id("11010520240615001")
    assert validate_resident_id(today_birth, today=TODAY) == today_birth


def test_resident_id_future_birth_date_against_real_clock():
    next_year = dt.date.today().year + 1
    number = make_valid_resident_id(f"110105{next_year}0101001")
    assert error_code(validate_resident_id, number) == "resident_id.birth_date_future"


@pytest.mark.parametrize(
    "first17",
    [
        "11010519900230001",  # Feb 30th
        "11010519990229001",  # Feb 29th in a non-leap year
        "11010519001301001",  # month 13
        "11010519900431001",  # April 31st
        "11010519900100001",  # day 0
        "11010500000101001",  # year 0
    ],
)
def test_resident_id_impossible_birth_date(first17):
    number = make_valid_resident_id(first17)  # right check char: the date is what fails
    assert error_code(validate_resident_id, number, today=TODAY) == "resident_id.birth_date"


def test_resident_id_birth_date_before_1900():
    number = make_valid_resident_id("11010518991231001")
    assert error_code(validate_resident_id, number, today=TODAY) == (
        "resident_id.birth_date_too_early"
    )


def test_make_valid_resident_id_rejects_bad_prefix():
    with pytest.raises(ValueError):
        make_valid_resident_id("1101051949123100")
    with pytest.raises(ValueError):
        make_valid_resident_id("1101051949123100X")


# ---------------------------------------------------------------------------
# Mobile
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        " 13800138000 ",
        "138 0013 8000",
        "138-0013-8000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "008613800138000",
        "0086 138 0013 8000",
    ],
)
def test_mobile_normalised(phone):
    assert validate_mobile(phone) == "13800138000"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_valid_prefixes(prefix):
    assert validate_mobile(prefix + "912345678") == prefix + "912345678"


@pytest.mark.parametrize("phone", ["1380013800", "138001380001", "+86 1380013800", "8613800138000"])
def test_mobile_wrong_length(phone):
    assert error_code(validate_mobile, phone) == "mobile.length"


@pytest.mark.parametrize("phone", ["12800138000", "10800138000", "11800138000", "+86 12800138000"])
def test_mobile_wrong_prefix(phone):
    assert error_code(validate_mobile, phone) == "mobile.prefix"


@pytest.mark.parametrize(
    "phone",
    [
        "138.0013.8000",
        "(138)00138000",
        "+85213800138000",
        "+1 13800138000",
        "1380013800a",
        "１3800138000",  # full-width digit
    ],
)
def test_mobile_bad_characters(phone):
    assert error_code(validate_mobile, phone) == "mobile.format"


# ---------------------------------------------------------------------------
# Landline
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone,expected",
    [
        ("010-12345678", "010-12345678"),
        ("0755-1234567", "0755-1234567"),
        (" 021 - 87654321 ", "021-87654321"),
        ("0755 1234567", "0755-1234567"),
        ("(010)12345678", "010-12345678"),
        ("（0755）1234567", "0755-1234567"),
        ("(010) 12345678", "010-12345678"),
        ("010-12345678-123", "010-12345678-123"),
        ("010-12345678转123", "010-12345678-123"),
        ("0755-1234567 转 8", "0755-1234567-8"),
        ("010-12345678 ext. 4567", "010-12345678-4567"),
    ],
)
def test_landline_normalised(phone, expected):
    assert validate_landline(phone) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "01012345678",  # no separator: 010 + 12345678 or 0101 + 2345678?
        "12345678",
        "010/12345678",
        "010-1234567a",
        "010-12345678#123",
        "tel 010-12345678",
    ],
)
def test_landline_format(phone):
    assert error_code(validate_landline, phone) == "landline.format"


@pytest.mark.parametrize(
    "phone", ["10-12345678", "01-12345678", "07555-1234567", "755-1234567", "001-1234567"]
)
def test_landline_area_code(phone):
    assert error_code(validate_landline, phone) == "landline.area_code"


@pytest.mark.parametrize("phone", ["010-123456", "010-123456789", "0755-12345"])
def test_landline_number_length(phone):
    assert error_code(validate_landline, phone) == "landline.number"


def test_landline_extension_length():
    assert error_code(validate_landline, "010-12345678-1234567") == "landline.extension"


# ---------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "addr,expected",
    [
        ("zhang.san@example.com", "zhang.san@example.com"),
        ("  Zhang.San@Example.COM.CN ", "Zhang.San@example.com.cn"),
        ("office+tenants@mail.wy-gl.cn", "office+tenants@mail.wy-gl.cn"),
        ("a@b.co", "a@b.co"),
        ("o'brien_1@sub.domain.example.org", "o'brien_1@sub.domain.example.org"),
    ],
)
def test_email_valid(addr, expected):
    assert validate_email(addr) == expected


@pytest.mark.parametrize(
    "addr",
    [
        "a@b@example.com",
        "zhang san@example.com",
        "zhang@exa mple.com",
        "a @example.com",
        "example.com",
    ],
)
def test_email_format(addr):
    assert error_code(validate_email, addr) == "email.format"


@pytest.mark.parametrize(
    "addr", ["user@example", "user@localhost", "user@example.c", "user@example.c0m"]
)
def test_email_missing_or_bad_tld(addr):
    assert error_code(validate_email, addr) == "email.tld"


@pytest.mark.parametrize(
    "addr",
    ["@example.com", ".zhang@example.com", "zhang.@example.com", "zh..ang@example.com",
     "zh(ang)@example.com", "a" * 65 + "@example.com", "张三@example.com"],
)
def test_email_local_part(addr):
    assert error_code(validate_email, addr) == "email.local_part"


@pytest.mark.parametrize(
    "addr",
    ["user@", "user@.com", "user@example..com", "user@-example.com", "user@example-.com",
     "user@exa_mple.com", "user@example.com.", "user@" + "a" * 64 + ".com", "user@例子.com"],
)
def test_email_domain(addr):
    assert error_code(validate_email, addr) == "email.domain"


def test_email_total_length():
    local = "a" * 64
    ok = f"{local}@{'b' * 61}.{'b' * 61}.{'b' * 61}.com"
    assert len(ok) == 254 and validate_email(ok) == ok
    too_long = f"{local}@{'b' * 61}.{'b' * 61}.{'b' * 62}.com"
    assert len(too_long) == 255
    assert error_code(validate_email, too_long) == "email.length"
