"""Queue attributes: defaults, ranges, read-only and FIFO-only attributes, Get/SetQueueAttributes,
RedrivePolicy, RedriveAllowPolicy and ListDeadLetterSourceQueues."""

from __future__ import annotations

import json

import pytest

from enterprise_sqs.errors import (
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    QueueDoesNotExist,
)
from tests.contract.conftest import Harness

MOTO_NO_RANGE_CHECK = "moto does not check this attribute's range"

# name, lowest accepted, highest accepted
RANGES = [
    ("VisibilityTimeout", 0, 43200),
    ("DelaySeconds", 0, 900),
    ("MessageRetentionPeriod", 60, 1209600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("MaximumMessageSize", 1024, 1048576),
]

DEFAULTS = {
    "VisibilityTimeout": "30",
    "DelaySeconds": "0",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "MaximumMessageSize": "1048576",
    "ApproximateNumberOfMessages": "0",
    "ApproximateNumberOfMessagesNotVisible": "0",
    "ApproximateNumberOfMessagesDelayed": "0",
}


def _out_of_range_cases() -> list[object]:
    cases: list[object] = []
    for name, low, high in RANGES:
        # moto checks MaximumMessageSize only.
        marks = (
            []
            if name == "MaximumMessageSize"
            else [pytest.mark.moto_deviation(MOTO_NO_RANGE_CHECK)]
        )
        cases.append(pytest.param(name, str(low - 1), marks=marks, id=f"{name}-below"))
        cases.append(pytest.param(name, str(high + 1), marks=marks, id=f"{name}-above"))
    return cases


async def _arn(sqs: Harness, url: str) -> str:
    return (await sqs.backend.get_queue_attributes(url, ["QueueArn"]))["QueueArn"]


def _redrive(arn: str, count: object) -> str:
    return json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": count})


# -- defaults and ranges --------------------------------------------------------------------------


async def test_new_standard_queue_has_the_documented_defaults(sqs: Harness) -> None:
    url = await sqs.create("defaults")
    attrs = await sqs.backend.get_queue_attributes(url, ["All"])
    assert {k: attrs[k] for k in DEFAULTS} == DEFAULTS
    assert attrs["QueueArn"].startswith("arn:aws:sqs:")
    assert attrs["QueueArn"].endswith(":" + sqs.name("defaults"))
    assert int(float(attrs["CreatedTimestamp"])) > 1_600_000_000
    assert "FifoQueue" not in attrs


async def test_new_fifo_queue_reports_fifo_attributes(sqs: Harness) -> None:
    url = await sqs.create("f", fifo=True)
    attrs = await sqs.backend.get_queue_attributes(url, ["All"])
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"


@pytest.mark.parametrize(
    ("name", "value"),
    [pytest.param(n, str(v), id=f"{n}-{v}") for n, low, high in RANGES for v in (low, high)],
)
async def test_attribute_is_accepted_at_the_bounds_of_its_range(
    sqs: Harness, name: str, value: str
) -> None:
    url = await sqs.backend.create_queue(sqs.name("bound"), {name: value})
    assert (await sqs.backend.get_queue_attributes(url, [name])) == {name: value}


@pytest.mark.parametrize(("name", "value"), _out_of_range_cases())
async def test_create_with_attribute_outside_its_range_is_invalid_attribute_value(
    sqs: Harness, name: str, value: str
) -> None:
    with pytest.raises(InvalidAttributeValue) as info:
        await sqs.backend.create_queue(sqs.name("range"), {name: value})
    assert f"Invalid value for the parameter {name}" in info.value.message


@pytest.mark.parametrize(
    ("name", "value", "default"),
    [("VisibilityTimeout", "43201", "30"), ("MaximumMessageSize", "1023", "1048576")],
)
@pytest.mark.moto_deviation("moto checks attribute ranges on CreateQueue only")
async def test_set_with_attribute_outside_its_range_is_invalid_attribute_value(
    sqs: Harness, name: str, value: str, default: str
) -> None:
    url = await sqs.create("setrange")
    with pytest.raises(InvalidAttributeValue) as info:
        await sqs.backend.set_queue_attributes(url, {name: value})
    assert f"Invalid value for the parameter {name}" in info.value.message
    assert await sqs.backend.get_queue_attributes(url, [name]) == {name: default}


@pytest.mark.moto_deviation("moto fails with HTTP 500 on a non-numeric value")
async def test_non_numeric_attribute_value_is_invalid_attribute_value(sqs: Harness) -> None:
    with pytest.raises(InvalidAttributeValue) as info:
        await sqs.backend.create_queue(sqs.name("nan"), {"VisibilityTimeout": "soon"})
    assert "VisibilityTimeout" in info.value.message


# -- GetQueueAttributes ---------------------------------------------------------------------------


async def test_get_all_returns_every_attribute(sqs: Harness) -> None:
    url = await sqs.create("all")
    attrs = await sqs.backend.get_queue_attributes(url, ["All"])
    expected = {*DEFAULTS, "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}
    assert expected <= attrs.keys()


async def test_get_named_attributes_returns_only_those(sqs: Harness) -> None:
    url = await sqs.create("some", VisibilityTimeout="17")
    attrs = await sqs.backend.get_queue_attributes(url, ["VisibilityTimeout", "DelaySeconds"])
    assert attrs == {"VisibilityTimeout": "17", "DelaySeconds": "0"}


async def test_get_unknown_attribute_name_is_invalid_attribute_name(sqs: Harness) -> None:
    url = await sqs.create("unknown")
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.get_queue_attributes(url, ["Foobar"])
    assert info.value.message == "Unknown Attribute Foobar."


async def test_get_attributes_of_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    url = await sqs.create("vanish")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.get_queue_attributes(url, ["All"])


# -- names SQS refuses ----------------------------------------------------------------------------


@pytest.mark.moto_deviation("moto ignores unknown attribute names on CreateQueue")
async def test_create_with_unknown_attribute_name_is_invalid_attribute_name(sqs: Harness) -> None:
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.create_queue(sqs.name("bogus"), {"Foobar": "1"})
    assert "Foobar" in info.value.message


@pytest.mark.parametrize("name", ["QueueArn", "ApproximateNumberOfMessages", "CreatedTimestamp"])
@pytest.mark.moto_deviation("moto silently ignores read-only attributes on SetQueueAttributes")
async def test_setting_a_read_only_attribute_is_invalid_attribute_name(
    sqs: Harness, name: str
) -> None:
    url = await sqs.create("readonly")
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.set_queue_attributes(url, {name: "1"})
    assert info.value.message == f"Unknown Attribute {name}."


@pytest.mark.moto_deviation("moto accepts FifoQueue on SetQueueAttributes")
async def test_fifo_queue_attribute_is_unknown_on_a_standard_queue(sqs: Harness) -> None:
    url = await sqs.create("std")
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.set_queue_attributes(url, {"FifoQueue": "true"})
    assert info.value.message == "Unknown Attribute FifoQueue."


@pytest.mark.moto_deviation("moto lets SetQueueAttributes change FifoQueue")
async def test_fifo_queue_attribute_cannot_be_changed_on_a_fifo_queue(sqs: Harness) -> None:
    url = await sqs.create("fifo", fifo=True)
    with pytest.raises(InvalidAttributeValue) as info:
        await sqs.backend.set_queue_attributes(url, {"FifoQueue": "false"})
    assert "Modifying queue type is not supported" in info.value.message
    assert (await sqs.backend.get_queue_attributes(url, ["FifoQueue"]))["FifoQueue"] == "true"


@pytest.mark.moto_deviation("moto accepts ContentBasedDeduplication on a standard queue")
async def test_content_based_deduplication_is_refused_on_a_standard_queue(sqs: Harness) -> None:
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.create_queue(sqs.name("cbd"), {"ContentBasedDeduplication": "true"})
    assert info.value.message == "Unknown Attribute ContentBasedDeduplication."


@pytest.mark.parametrize(
    ("name", "value"), [("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")]
)
@pytest.mark.moto_deviation("moto accepts FIFO throughput attributes on a standard queue")
async def test_fifo_throughput_attributes_are_refused_on_a_standard_queue(
    sqs: Harness, name: str, value: str
) -> None:
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.create_queue(sqs.name("scope"), {name: value})
    assert info.value.message == f"You can specify the {name} only when FifoQueue is set to true."


@pytest.mark.moto_deviation("moto accepts FifoQueue=false on a standard queue")
async def test_fifo_queue_false_is_an_unknown_attribute_when_creating_a_standard_queue(
    sqs: Harness,
) -> None:
    with pytest.raises(InvalidAttributeName) as info:
        await sqs.backend.create_queue(sqs.name("nofifo"), {"FifoQueue": "false"})
    assert info.value.message == "Unknown Attribute FifoQueue."


async def test_setting_fifo_queue_true_again_on_a_fifo_queue_is_accepted(sqs: Harness) -> None:
    url = await sqs.create("again", fifo=True)
    await sqs.backend.set_queue_attributes(url, {"FifoQueue": "true"})
    assert (await sqs.backend.get_queue_attributes(url, ["FifoQueue"]))["FifoQueue"] == "true"


async def test_content_based_deduplication_can_be_switched_on_a_fifo_queue(sqs: Harness) -> None:
    url = await sqs.create("cbd", fifo=True)
    await sqs.backend.set_queue_attributes(url, {"ContentBasedDeduplication": "true"})
    attrs = await sqs.backend.get_queue_attributes(url, ["ContentBasedDeduplication"])
    assert attrs == {"ContentBasedDeduplication": "true"}


# -- SetQueueAttributes ---------------------------------------------------------------------------


async def test_set_queue_attributes_changes_the_values(sqs: Harness) -> None:
    url = await sqs.create("set")
    await sqs.backend.set_queue_attributes(
        url, {"VisibilityTimeout": "69", "DelaySeconds": "420", "MaximumMessageSize": "2048"}
    )
    attrs = await sqs.backend.get_queue_attributes(url, ["All"])
    assert (attrs["VisibilityTimeout"], attrs["DelaySeconds"], attrs["MaximumMessageSize"]) == (
        "69",
        "420",
        "2048",
    )


async def test_set_queue_attributes_moves_last_modified_but_not_created(sqs: Harness) -> None:
    url = await sqs.create("stamp")
    before = await sqs.backend.get_queue_attributes(url, ["All"])
    await sqs.advance(2)
    await sqs.backend.set_queue_attributes(url, {"DelaySeconds": "5"})
    after = await sqs.backend.get_queue_attributes(url, ["All"])
    assert float(after["LastModifiedTimestamp"]) > float(before["LastModifiedTimestamp"])
    assert after["CreatedTimestamp"] == before["CreatedTimestamp"]


async def test_set_attributes_of_a_missing_queue_is_queue_does_not_exist(sqs: Harness) -> None:
    url = await sqs.create("lost")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.set_queue_attributes(url, {"DelaySeconds": "1"})


# -- RedrivePolicy --------------------------------------------------------------------------------


async def test_redrive_policy_is_stored_and_returned(sqs: Harness) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("dlq"))
    url = await sqs.create("src")
    await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, "5")})
    policy = json.loads(
        (await sqs.backend.get_queue_attributes(url, ["RedrivePolicy"]))["RedrivePolicy"]
    )
    assert policy["deadLetterTargetArn"] == dlq_arn
    assert int(policy["maxReceiveCount"]) == 5


async def test_redrive_policy_without_dead_letter_target_is_invalid_parameter_value(
    sqs: Harness,
) -> None:
    url = await sqs.create("notarget")
    with pytest.raises(InvalidParameterValue) as info:
        await sqs.backend.set_queue_attributes(
            url, {"RedrivePolicy": json.dumps({"maxReceiveCount": 3})}
        )
    assert "deadLetterTargetArn" in info.value.message


@pytest.mark.parametrize("count", ["0", "1001", "many"])
@pytest.mark.moto_deviation("moto does not check maxReceiveCount")
async def test_redrive_policy_max_receive_count_outside_1_to_1000_is_invalid_parameter_value(
    sqs: Harness, count: str
) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("dlq"))
    url = await sqs.create("src")
    with pytest.raises(InvalidParameterValue) as info:
        await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, count)})
    assert "maxReceiveCount" in info.value.message


@pytest.mark.parametrize("count", ["1", "1000"])
async def test_redrive_policy_max_receive_count_bounds_are_accepted(
    sqs: Harness, count: str
) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("dlq"))
    url = await sqs.create("src")
    await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, count)})
    policy = (await sqs.backend.get_queue_attributes(url, ["RedrivePolicy"]))["RedrivePolicy"]
    assert int(json.loads(policy)["maxReceiveCount"]) == int(count)


async def test_fifo_queue_cannot_use_a_standard_dead_letter_queue(sqs: Harness) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("stddlq"))
    url = await sqs.create("src", fifo=True)
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, "3")})


@pytest.mark.moto_deviation("moto accepts a FIFO dead-letter queue for a standard queue")
async def test_standard_queue_cannot_use_a_fifo_dead_letter_queue(sqs: Harness) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("fifodlq", fifo=True))
    url = await sqs.create("src")
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, "3")})


async def test_empty_redrive_policy_removes_it(sqs: Harness) -> None:
    dlq_arn = await _arn(sqs, await sqs.create("dlq"))
    url = await sqs.create("src")
    await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, "3")})
    await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": ""})
    assert "RedrivePolicy" not in await sqs.backend.get_queue_attributes(url, ["All"])


# -- RedriveAllowPolicy and ListDeadLetterSourceQueues --------------------------------------------


@pytest.mark.moto_deviation("moto does not know RedriveAllowPolicy")
async def test_redrive_allow_policy_is_stored_and_returned(sqs: Harness) -> None:
    url = await sqs.create("dlq")
    allow = json.dumps({"redrivePermission": "denyAll"})
    await sqs.backend.set_queue_attributes(url, {"RedriveAllowPolicy": allow})
    stored = (await sqs.backend.get_queue_attributes(url, ["RedriveAllowPolicy"]))[
        "RedriveAllowPolicy"
    ]
    assert json.loads(stored) == {"redrivePermission": "denyAll"}


@pytest.mark.moto_deviation("moto does not enforce RedriveAllowPolicy")
async def test_redrive_allow_policy_deny_all_refuses_a_source(sqs: Harness) -> None:
    dlq = await sqs.create("dlq")
    await sqs.backend.set_queue_attributes(
        dlq, {"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})}
    )
    src = await sqs.create("src")
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.set_queue_attributes(
            src, {"RedrivePolicy": _redrive(await _arn(sqs, dlq), "3")}
        )


@pytest.mark.moto_deviation("moto does not know RedriveAllowPolicy")
async def test_redrive_allow_policy_by_queue_admits_only_listed_sources(sqs: Harness) -> None:
    dlq = await sqs.create("dlq")
    allowed = await sqs.create("allowed")
    other = await sqs.create("other")
    policy = {"redrivePermission": "byQueue", "sourceQueueArns": [await _arn(sqs, allowed)]}
    await sqs.backend.set_queue_attributes(dlq, {"RedriveAllowPolicy": json.dumps(policy)})
    dlq_arn = await _arn(sqs, dlq)
    await sqs.backend.set_queue_attributes(allowed, {"RedrivePolicy": _redrive(dlq_arn, "3")})
    with pytest.raises(InvalidParameterValue):
        await sqs.backend.set_queue_attributes(other, {"RedrivePolicy": _redrive(dlq_arn, "3")})


async def test_list_dead_letter_source_queues_lists_the_queues_that_use_it(sqs: Harness) -> None:
    dlq = await sqs.create("dlq")
    dlq_arn = await _arn(sqs, dlq)
    sources = [await sqs.create(f"src{i}") for i in range(2)]
    await sqs.create("unrelated")
    for url in sources:
        await sqs.backend.set_queue_attributes(url, {"RedrivePolicy": _redrive(dlq_arn, "3")})
    page = await sqs.backend.list_dead_letter_source_queues(dlq)
    assert sorted(page.queue_urls) == sorted(sources)


async def test_list_dead_letter_source_queues_is_empty_for_an_unused_queue(sqs: Harness) -> None:
    dlq = await sqs.create("lonely")
    assert (await sqs.backend.list_dead_letter_source_queues(dlq)).queue_urls == []


async def test_list_dead_letter_source_queues_of_a_missing_queue_is_queue_does_not_exist(
    sqs: Harness,
) -> None:
    url = await sqs.create("dropped")
    await sqs.backend.delete_queue(url)
    with pytest.raises(QueueDoesNotExist):
        await sqs.backend.list_dead_letter_source_queues(url)
