"""Visibility timeouts, receipt handles, DeleteMessage, ChangeMessageVisibility and the
approximate counts."""

from __future__ import annotations

import pytest

from enterprise_sqs.errors import InvalidParameterValue, ReceiptHandleIsInvalid
from tests.contract.conftest import Harness
from tests.contract.messaging import counts, receive, send

MALFORMED_HANDLE = "garbage"


async def test_received_message_is_invisible_until_its_timeout(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="30")
    await send(sqs, url)
    assert len(await receive(sqs, url)) == 1
    assert await receive(sqs, url) == []
    await sqs.advance(0.5)
    assert await receive(sqs, url) == []


async def test_undeleted_message_reappears_after_its_timeout(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="1")
    await send(sqs, url, "again")
    (first,) = await receive(sqs, url)
    await sqs.advance(1.5)
    (second,) = await receive(sqs, url, attribute_names=["ApproximateReceiveCount"])
    assert second.message_id == first.message_id
    assert second.body == "again"
    assert second.attributes["ApproximateReceiveCount"] == "2"


async def test_each_receive_issues_a_new_receipt_handle(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (first,) = await receive(sqs, url, visibility_timeout=0)
    (second,) = await receive(sqs, url, visibility_timeout=0)
    assert first.message_id == second.message_id
    assert first.receipt_handle != second.receipt_handle


async def test_delete_removes_the_message_for_good(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="1")
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    await sqs.backend.delete_message(url, message.receipt_handle)
    await sqs.advance(1.5)
    assert await receive(sqs, url) == []
    assert await counts(sqs, url) == (0, 0, 0)


async def test_delete_with_an_older_handle_of_the_same_message_succeeds(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (first,) = await receive(sqs, url, visibility_timeout=0)
    (second,) = await receive(sqs, url, visibility_timeout=30)
    assert first.receipt_handle != second.receipt_handle
    await sqs.backend.delete_message(url, first.receipt_handle)
    assert await counts(sqs, url) == (0, 0, 0)


async def test_deleting_an_already_deleted_message_succeeds(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    await sqs.backend.delete_message(url, message.receipt_handle)
    await sqs.backend.delete_message(url, message.receipt_handle)


async def test_delete_with_malformed_handle_raises_receipt_handle_is_invalid(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(ReceiptHandleIsInvalid):
        await sqs.backend.delete_message(url, MALFORMED_HANDLE)


@pytest.mark.moto_deviation("moto's error text differs from AWS's")
async def test_malformed_handle_error_text_matches_aws(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(ReceiptHandleIsInvalid) as caught:
        await sqs.backend.delete_message(url, MALFORMED_HANDLE)
    assert (
        caught.value.message == 'The input receipt handle "garbage" is not a valid receipt handle.'
    )


async def test_change_visibility_with_malformed_handle_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    with pytest.raises(ReceiptHandleIsInvalid):
        await sqs.backend.change_visibility(url, MALFORMED_HANDLE, 10)


async def test_change_visibility_to_zero_makes_message_available_at_once(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="600")
    await send(sqs, url)
    (first,) = await receive(sqs, url)
    await sqs.backend.change_visibility(url, first.receipt_handle, 0)
    (again,) = await receive(sqs, url)
    assert again.message_id == first.message_id


async def test_change_visibility_counts_from_the_call(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url, visibility_timeout=1)
    await sqs.advance(0.6)
    await sqs.backend.change_visibility(url, message.receipt_handle, 1)
    await sqs.advance(0.6)  # past the first timeout, inside the new one
    assert await receive(sqs, url) == []
    await sqs.advance(0.7)  # past the new one
    (again,) = await receive(sqs, url)
    assert again.message_id == message.message_id


async def test_change_visibility_can_shorten_a_long_timeout(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="600")
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    await sqs.backend.change_visibility(url, message.receipt_handle, 1)
    await sqs.advance(1.5)
    assert len(await receive(sqs, url)) == 1


async def test_change_visibility_over_12_hours_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.change_visibility(url, message.receipt_handle, 43201)
    assert "43200" in caught.value.message


async def test_change_visibility_to_12_hours_is_accepted(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    # a minute short of 12 h, so that the time already spent in flight cannot tip it over
    await sqs.backend.change_visibility(url, message.receipt_handle, 43200 - 60)
    assert await counts(sqs, url) == (0, 1, 0)


@pytest.mark.moto_deviation("moto accepts a negative VisibilityTimeout")
async def test_negative_change_visibility_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.change_visibility(url, message.receipt_handle, -1)


async def test_change_visibility_after_the_timeout_expired_answers_ok(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="1")
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    await sqs.advance(1.5)
    # AWS answers 200 here: the message merely timed out, it was not deleted
    await sqs.backend.change_visibility(url, message.receipt_handle, 30)
    assert await receive(sqs, url) == []


@pytest.mark.moto_deviation(
    "moto answers ReceiptHandleIsInvalid instead of AWS's InvalidParameterValue"
)
async def test_change_visibility_of_deleted_message_is_refused(sqs: Harness) -> None:
    url = await sqs.create()
    await send(sqs, url)
    (message,) = await receive(sqs, url)
    await sqs.backend.delete_message(url, message.receipt_handle)
    with pytest.raises(InvalidParameterValue) as caught:
        await sqs.backend.change_visibility(url, message.receipt_handle, 30)
    assert "not available for visibility timeout change" in caught.value.message


# -- approximate counts --------------------------------------------------------------------------


async def test_counts_follow_a_message_through_its_life(sqs: Harness) -> None:
    url = await sqs.create()
    assert await counts(sqs, url) == (0, 0, 0)
    await send(sqs, url, "visible")
    await send(sqs, url, "delayed", delay_seconds=600)
    assert await counts(sqs, url) == (1, 0, 1)
    (message,) = await receive(sqs, url)
    assert await counts(sqs, url) == (0, 1, 1)
    await sqs.backend.delete_message(url, message.receipt_handle)
    assert await counts(sqs, url) == (0, 0, 1)


async def test_counts_return_to_visible_after_timeout(sqs: Harness) -> None:
    url = await sqs.create(VisibilityTimeout="1")
    await send(sqs, url)
    await send(sqs, url)
    await receive(sqs, url)
    assert await counts(sqs, url) == (0, 2, 0)
    await sqs.advance(1.5)
    assert await counts(sqs, url) == (2, 0, 0)
