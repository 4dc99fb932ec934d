"""Contact-detail masking: phone numbers, emails (also obfuscated) and outside links are hidden;
ordinary numbers, dates, prices and the marketplace's own links are not."""

import pytest

from chat.moderation import mask


@pytest.mark.parametrize(
    "text",
    [
        "+49 170 1234567",
        "+491701234567",
        "0049 170 1234567",
        "(030) 123-4567",
        "0170/1234567",
        "0170.123.45.67",
        "0170 123 45 67",
        "030-12345678",
        "+1 (555) 123-4567",
        "555-123-4567",
        "0 1 7 0 1 2 3 4 5 6 7",
        "+44 20 7946 0958",
    ],
)
def test_phone_formats_are_masked(text):
    result = mask(f"call me on {text} tonight")
    assert result.text == "call me on [phone hidden] tonight", result.text
    assert result.kinds == ["phone"]


@pytest.mark.parametrize(
    "text",
    [
        "anna.schmidt@example.com",
        "Anna_S+parts@mail.example.co.uk",
        "anna at example dot com",
        "anna [at] example [dot] de",
        "anna(at)gmail(dot)com",
        "anna {at} gmx {dot} net",
        "anna @ gmail . com",
        "anna AT gmail DOT com",
    ],
)
def test_email_formats_are_masked(text):
    result = mask(f"write to {text} please")
    assert result.text == "write to [email hidden] please", result.text
    assert result.kinds == ["email"]


@pytest.mark.parametrize(
    "text",
    ["https://evil.example.org/x?y=1", "http://parts-cheap.de", "www.ebay.de/itm/123", "shop.example.com/offer", "t.me/sellerchat"],
)
def test_outside_links_are_masked(text):
    result = mask(f"cheaper here: {text}.")
    assert result.text == "cheaper here: [link hidden].", result.text
    assert result.kinds == ["link"]


def test_own_domain_links_are_kept_and_their_digits_are_not_phones(settings):
    settings.CHAT_ALLOWED_LINK_DOMAINS = ["demo.market"]
    text = "see https://demo.market/products/1234567890 and https://shop.demo.market/x"
    assert mask(text).text == text and mask(text).kinds == []


@pytest.mark.parametrize(
    "text",
    [
        "Price 1,250.00 EUR, 2 pieces",
        "delivery on 12.05.2024 between 10:30 and 12:00",
        "meet at 10.30 - 11.00",
        "Order 12345, SKU RAP-0001, part 06A115561B",
        "fits 2016 golf 1.4 TSI, 280mm x 22mm",
        "I am at home dot",
        "ref 1234567.89",
        "version v1.2.3 of the manual",
    ],
)
def test_ordinary_text_is_left_alone(text):
    result = mask(text)
    assert result.text == text and not result.masked


def test_several_kinds_in_one_message_are_all_masked_and_listed():
    result = mask("Mail bob@example.com, call 0170/1234567 or see www.cheap-parts.com")
    assert result.text == "Mail [email hidden], call [phone hidden] or see [link hidden]"
    assert result.kinds == ["email", "link", "phone"]
