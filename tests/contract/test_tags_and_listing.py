"""Queue tags (TagQueue, UntagQueue, ListQueueTags) and ListQueues with prefix and pagination."""

from __future__ import annotations

import pytest

from enterprise_sqs.errors import InvalidParameterValue, QueueDoesNotExist
from tests.contract.conftest import Harness

# -- tags -----------------------------------------------------------------------------------------


async def test_a_new_queue_has_no_tags(sqs: Harness) -> None:
    url = await sqs.create("plain")
    assert await sqs.backend.list_queue_tags(url) == {}


async def test_tag_queue_adds_tags(sqs: Harness) -> None:
    url = await sqs.create("tags")
    await sqs.backend.tag_queue(url, {"team": "core"})
    await sqs.backend.tag_queue(url, {"env": "dev"})
    assert await sqs.backend.list_queue_tags(url) == {"team": "core", "env": "dev"}


async def test_tag_queue_overwrites_the_value_of_an_existing_key(sqs: Harness) -> None:
    url = await sqs.create("over")
    await sqs.backend.tag_queue(url, {"env": "dev"})
    await sqs.backend.tag_queue(url, {"env": "prod"})
    assert await sqs.backend.list_queue_tags(url) == {"env": "prod"}


async def test_tag_keys_are_case_sensitive(sqs: Harness) -> None:
    url = await sqs.create("case")
    await sqs.backend.tag_queue(url, {"MyTag": "a", "mytag": "b"})
    assert await sqs.backend.list_queue_tags(url) == {"MyTag": "a", "mytag": "b"}


async def test_untag_queue_removes_only_the_named_keys_and_ignores_unknown_ones(
    sqs: Harness,
) -> None:
    url = await sqs.create("untag")
    await sqs.backend.tag_queue(url, {"a": "1", "b": "2"})
    await sqs.backend.untag_queue(url, ["a", "never-set"])
    assert await sqs.backend.list_queue_tags(url) == {"b": "2"}


async def test_tagging_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    url = await sqs.create("notag")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.tag_queue(url, {"a": "1"})
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.list_queue_tags(url)


# -- ListQueues -----------------------------------------------------------------------------------


async def test_list_queues_with_prefix_returns_only_matching_queues(sqs: Harness) -> None:
    wanted = [await sqs.create(f"orders-{i}") for i in range(3)]
    await sqs.create("billing")
    page = await sqs.backend.list_queues(prefix=sqs.name("orders"))
    assert sorted(page.queue_urls) == sorted(wanted)
    assert page.next_token is None


async def test_list_queues_prefix_is_case_sensitive(sqs: Harness) -> None:
    await sqs.create("lower")
    assert (await sqs.backend.list_queues(prefix=sqs.name("LOWER"))).queue_urls == []


async def test_list_queues_includes_fifo_queues(sqs: Harness) -> None:
    url = await sqs.create("ordered", fifo=True)
    assert url in (await sqs.backend.list_queues(prefix=sqs.prefix)).queue_urls


async def test_list_queues_omits_deleted_queues(sqs: Harness) -> None:
    keep = await sqs.create("keep")
    drop = await sqs.create("drop")
    await sqs.backend.delete_queue(drop)
    assert (await sqs.backend.list_queues(prefix=sqs.prefix)).queue_urls == [keep]


async def test_list_queues_max_results_limits_the_page_and_returns_a_next_token(
    sqs: Harness,
) -> None:
    for i in range(5):
        await sqs.create(f"p{i}")
    page = await sqs.backend.list_queues(prefix=sqs.prefix, max_results=2)
    assert len(page.queue_urls) == 2
    assert page.next_token


async def test_list_queues_next_token_walks_every_queue_exactly_once(sqs: Harness) -> None:
    created = {await sqs.create(f"w{i}") for i in range(7)}
    seen: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = await sqs.backend.list_queues(prefix=sqs.prefix, max_results=3, next_token=token)
        seen += page.queue_urls
        token = page.next_token
        if token is None:
            break
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(created)


async def test_list_queues_gives_no_next_token_when_everything_fits(sqs: Harness) -> None:
    for i in range(3):
        await sqs.create(f"fit{i}")
    page = await sqs.backend.list_queues(prefix=sqs.prefix, max_results=3)
    assert len(page.queue_urls) == 3
    assert page.next_token is None


@pytest.mark.parametrize("max_results", [0, 1001])
@pytest.mark.moto_deviation("moto accepts any MaxResults")
async def test_list_queues_max_results_outside_1_to_1000_is_invalid_parameter_value(
    sqs: Harness, max_results: int
) -> None:
    with pytest.raises(InvalidParameterValue) as info:
        await sqs.backend.list_queues(max_results=max_results)
    assert "MaxResults" in info.value.message


async def test_list_queues_accepts_max_results_of_1000(sqs: Harness) -> None:
    url = await sqs.create("big")
    assert (await sqs.backend.list_queues(prefix=sqs.prefix, max_results=1000)).queue_urls == [url]
