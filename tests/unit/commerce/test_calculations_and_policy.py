import pytest

from vitrine.commerce.calculations import commission_split, order_totals
from vitrine.commerce.errors import BuyingNotAvailable
from vitrine.commerce.policy import BuyingPolicy


def test_tax_is_a_percentage_of_the_goods_and_shipping_is_flat() -> None:
    totals = order_totals(8_000, shipping_flat=490, tax_bps=2_000, currency="EUR")

    assert (totals.subtotal, totals.shipping, totals.tax, totals.total) == (
        8_000,
        490,
        1_600,
        10_090,
    )


def test_tax_rounds_half_to_even_in_minor_units() -> None:
    assert order_totals(125, shipping_flat=0, tax_bps=1_000, currency="EUR").tax == 12
    assert order_totals(135, shipping_flat=0, tax_bps=1_000, currency="EUR").tax == 14


def test_commission_and_payable_add_up_to_what_was_paid() -> None:
    assert commission_split(10_090, 1_000, "EUR") == (1_009, 9_081)
    assert commission_split(999, 333, "JPY") == (33, 966)


def test_every_platform_may_buy_by_default() -> None:
    BuyingPolicy().check("android")


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ("android", "Buying is not available on Android yet; you can keep watching"),
        ("tv", "Buying is not available on tv yet; you can keep watching"),
    ],
)
def test_a_platform_outside_the_list_is_watch_only(platform: str, message: str) -> None:
    policy = BuyingPolicy(("ios", "desktop"))

    assert policy.may_buy("iOS")
    with pytest.raises(BuyingNotAvailable) as refused:
        policy.check(platform)
    assert str(refused.value) == message
