import asyncio

from vitrine.commerce.gate import GateAnswer, MemoryDealGate, Outcome


async def opened(remaining: int, bought: dict[int, int] | None = None) -> MemoryDealGate:
    gate = MemoryDealGate()
    await gate.open(1, remaining=remaining, bought=bought or {}, ttl_ms=0)
    return gate


async def test_the_gate_never_lets_more_win_than_there_are_units() -> None:
    gate = await opened(3)

    answers = await asyncio.gather(*[gate.claim(1, buyer, 1, 1, "k") for buyer in range(10)])

    assert [a.outcome for a in answers].count(Outcome.WON) == 3
    assert [a.outcome for a in answers].count(Outcome.SOLD_OUT) == 7
    assert answers[-1] == GateAnswer(Outcome.SOLD_OUT, 0, 0)


async def test_a_retried_key_gets_its_first_answer_again() -> None:
    gate = await opened(1)

    first = await gate.claim(1, 7, 1, 1, "tap")
    again = await gate.claim(1, 7, 1, 1, "tap")

    assert first == GateAnswer(Outcome.WON, 0, 0)
    assert again == GateAnswer(Outcome.WON, 0, 0, repeat=True)


async def test_the_per_shopper_limit_counts_every_key() -> None:
    gate = await opened(10, {7: 1})

    assert (await gate.claim(1, 7, 1, 2, "a")).outcome is Outcome.WON
    assert await gate.claim(1, 7, 1, 2, "b") == GateAnswer(Outcome.LIMIT_REACHED, 9, 2)


async def test_a_unit_given_back_can_be_won_again() -> None:
    gate = await opened(1)
    await gate.claim(1, 7, 1, 1, "a")

    await gate.give_back(1, 7, 1, "a")

    assert (await gate.claim(1, 8, 1, 1, "b")).outcome is Outcome.WON


async def test_an_unopened_or_closed_deal_is_unknown() -> None:
    gate = await opened(1)
    await gate.close(1)

    assert (await gate.claim(1, 7, 1, 1, "a")).outcome is Outcome.UNKNOWN_DEAL
