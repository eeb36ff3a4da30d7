"""The network's record of which interfaces each function holds (``network.FunctionInterfaces``)."""

from __future__ import annotations

from network import FunctionInterfaces

FN = "arn:aws:lambda:us-east-1:123456789012:function:rotator"


def test_a_function_holds_what_was_added_until_it_is_taken():
    record = FunctionInterfaces()
    record.add(FN, ["eni-1"])
    record.add(FN, ["eni-2"])
    assert record.of(FN) == ["eni-1", "eni-2"]
    assert record.take(FN) == ["eni-1", "eni-2"]
    assert record.of(FN) == []


def test_a_refused_change_gives_the_old_interfaces_back_first():
    record = FunctionInterfaces()
    record.add(FN, ["eni-old"])
    old = record.take(FN)
    record.add(FN, ["eni-new-partial"])
    record.give_back(FN, old)
    assert record.of(FN) == ["eni-old", "eni-new-partial"]


def test_what_is_read_is_a_copy():
    record = FunctionInterfaces()
    record.add(FN, ["eni-1"])
    record.of(FN).append("eni-x")
    assert record.of(FN) == ["eni-1"]
