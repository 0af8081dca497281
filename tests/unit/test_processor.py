"""DomainEventsProcessor: the handler registry every adapter delivers from."""

from __future__ import annotations

import functools
from datetime import timedelta

import attrs
import pytest

from hexbus import (
    DomainEvent,
    DomainEventsProcessor,
    HandlerRegistrationError,
    Priority,
    RateLimit,
    RetryPolicy,
    UnknownEventType,
    UnknownHandler,
)
from hexbus.ports import DEFAULT_QUEUE


@attrs.frozen(kw_only=True)
class OrderPlaced(DomainEvent):
    event_type = "unit.processor.order_placed"

    clinic_id: str = "c-1"


@attrs.frozen(kw_only=True)
class OrderShipped(DomainEvent):
    event_type = "unit.processor.order_shipped"


@attrs.frozen(kw_only=True)
class AbstractOrderEvent(DomainEvent):
    """Declares no event_type: handlers cannot be registered for it."""


def send_receipt(event: OrderPlaced) -> None:
    """A module-level handler: its derived name is stable."""


def notify(event: DomainEvent, channel: str) -> None:
    """A handler that takes a bound argument through functools.partial."""


class Mailer:
    """Handlers as methods and as a callable object."""

    def on_placed(self, event: OrderPlaced) -> None:
        """A bound method."""

    def __call__(self, event: OrderPlaced) -> None:
        """The object itself."""


# --- registering -------------------------------------------------------------------------


def test_register_returns_the_spec_and_handlers_for_lists_it() -> None:
    processor = DomainEventsProcessor()

    spec = processor.register_handler(OrderPlaced, send_receipt, name="receipt")

    assert (spec.name, spec.event_type, spec.handler) == (
        "receipt",
        "unit.processor.order_placed",
        send_receipt,
    )
    assert processor.handlers_for("unit.processor.order_placed") == (spec,)
    assert processor.get("receipt") is spec
    assert "receipt" in processor
    assert len(processor) == 1


def test_the_decorator_registers_and_returns_the_function_unchanged() -> None:
    processor = DomainEventsProcessor()

    @processor.handler(OrderPlaced, name="decorated", max_retries=1)
    def decorated(event: OrderPlaced) -> None:
        """Registered by the decorator."""

    assert decorated.__name__ == "decorated"
    assert processor.get("decorated").handler is decorated
    assert processor.get("decorated").retry.max_retries == 1


def test_an_event_type_may_be_given_by_its_name() -> None:
    processor = DomainEventsProcessor()

    spec = processor.register_handler("unit.processor.order_placed", send_receipt, name="r")

    assert spec.event_type == OrderPlaced.event_type


def test_many_handlers_per_type_are_kept_in_registration_order() -> None:
    processor = DomainEventsProcessor()
    names = ["third", "first", "second"]
    for name in names:
        processor.register_handler(OrderPlaced, send_receipt, name=name)
    processor.register_handler(OrderShipped, send_receipt, name="shipped")

    placed = processor.handlers_for(OrderPlaced.event_type)

    assert [spec.name for spec in placed] == names
    assert [spec.name for spec in processor.handlers_for(OrderShipped.event_type)] == ["shipped"]
    assert processor.handlers_for("unit.processor.nobody_listens") == ()
    assert [spec.name for spec in processor] == [*names, "shipped"]


def test_a_name_taken_twice_is_refused_even_for_another_type() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(OrderPlaced, send_receipt, name="receipt")

    with pytest.raises(HandlerRegistrationError, match="'receipt' is already registered"):
        processor.register_handler(OrderShipped, send_receipt, name="receipt")

    assert processor.handlers_for(OrderShipped.event_type) == ()


@pytest.mark.parametrize("not_an_event", [int, object(), Mailer])
def test_handlers_are_registered_for_event_types_only(not_an_event: object) -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(HandlerRegistrationError, match="DomainEvent subclasses"):
        processor.register_handler(not_an_event, send_receipt, name="h")  # type: ignore[arg-type]


@pytest.mark.parametrize("abstract", [DomainEvent, AbstractOrderEvent])
def test_an_abstract_event_class_is_refused(abstract: type[DomainEvent]) -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(HandlerRegistrationError, match="abstract"):
        processor.register_handler(abstract, send_receipt, name="h")


def test_an_unknown_type_name_is_refused() -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(UnknownEventType):
        processor.register_handler("unit.processor.never_declared", send_receipt, name="h")


def test_a_handler_that_is_not_callable_is_refused() -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(HandlerRegistrationError, match="not callable"):
        processor.register_handler(OrderPlaced, "send_receipt", name="h")  # type: ignore[arg-type]

    assert len(processor) == 0


# --- names -------------------------------------------------------------------------------


def test_a_function_is_named_by_its_module_and_qualified_name() -> None:
    spec = DomainEventsProcessor().register_handler(OrderPlaced, send_receipt)

    assert spec.name == f"{__name__}.send_receipt"


def test_a_method_is_named_by_its_class_and_name() -> None:
    spec = DomainEventsProcessor().register_handler(OrderPlaced, Mailer().on_placed)

    assert spec.name == f"{__name__}.Mailer.on_placed"


def test_a_partial_is_named_by_the_function_it_wraps() -> None:
    spec = DomainEventsProcessor().register_handler(
        OrderPlaced, functools.partial(functools.partial(notify, channel="sms"))
    )

    assert spec.name == f"{__name__}.notify"


def test_a_callable_object_is_named_by_its_class() -> None:
    spec = DomainEventsProcessor().register_handler(OrderPlaced, Mailer())

    assert spec.name == f"{__name__}.Mailer"


def test_a_lambda_needs_a_name() -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(HandlerRegistrationError, match="pass name="):
        processor.register_handler(OrderPlaced, lambda event: None)

    assert processor.register_handler(OrderPlaced, lambda event: None, name="named").name == "named"


def test_a_nested_function_needs_a_name() -> None:
    def local(event: OrderPlaced) -> None:
        """Defined inside a function: its qualified name has <locals>."""

    with pytest.raises(HandlerRegistrationError, match="stable name"):
        DomainEventsProcessor().register_handler(OrderPlaced, local)


@pytest.mark.parametrize("bad", ["", "  ", "two words", "a,b", "a|b"])
def test_handler_names_with_separators_or_blanks_are_refused(bad: str) -> None:
    with pytest.raises(HandlerRegistrationError):
        DomainEventsProcessor().register_handler(OrderPlaced, send_receipt, name=bad)


# --- options -----------------------------------------------------------------------------


def test_defaults_come_from_the_processor() -> None:
    policy = RetryPolicy(max_retries=9)
    processor = DomainEventsProcessor(default_queue="work", default_retry=policy)

    spec = processor.register_handler(OrderPlaced, send_receipt)

    assert (spec.queue, spec.retry, spec.timeout, spec.priority, spec.rate_limit) == (
        "work",
        policy,
        None,
        Priority.NORMAL,
        None,
    )
    assert DomainEventsProcessor().register_handler(OrderPlaced, send_receipt).queue == (
        DEFAULT_QUEUE
    )


def test_retry_shortcuts_adjust_the_policy_that_applies() -> None:
    base = RetryPolicy(max_retries=5, min_backoff=timedelta(seconds=2), jitter=0.5)

    spec = DomainEventsProcessor().register_handler(
        OrderPlaced,
        send_receipt,
        retry=base,
        max_retries=1,
        max_backoff=timedelta(seconds=30),
        non_retryable=(KeyError,),
    )

    assert spec.retry == RetryPolicy(
        max_retries=1,
        min_backoff=timedelta(seconds=2),
        max_backoff=timedelta(seconds=30),
        jitter=0.5,
        non_retryable=(KeyError,),
    )


def test_every_option_lands_in_the_spec() -> None:
    limit = RateLimit(name="sms", limit=10, period=timedelta(minutes=1), key="clinic_id")

    spec = DomainEventsProcessor().register_handler(
        OrderPlaced,
        send_receipt,
        queue="notification",
        min_backoff=timedelta(milliseconds=10),
        jitter=0.0,
        timeout=2.5,
        priority=Priority.HIGH,
        rate_limit=limit,
    )

    assert spec.queue == "notification"
    assert spec.retry.min_backoff == timedelta(milliseconds=10)
    assert spec.retry.jitter == 0.0
    assert spec.timeout == timedelta(seconds=2.5)
    assert spec.priority is Priority.HIGH
    assert spec.rate_limit is limit


def test_a_timeout_may_be_a_timedelta_or_whole_seconds() -> None:
    processor = DomainEventsProcessor()

    as_delta = processor.register_handler(
        OrderPlaced, send_receipt, name="a", timeout=timedelta(minutes=1)
    )
    as_int = processor.register_handler(OrderPlaced, send_receipt, name="b", timeout=60)

    assert as_delta.timeout == as_int.timeout == timedelta(seconds=60)


@pytest.mark.parametrize("bad", [-1, 0, timedelta(seconds=-1), True])
def test_a_timeout_that_is_not_positive_is_refused(bad: object) -> None:
    with pytest.raises(HandlerRegistrationError, match="timeout"):
        DomainEventsProcessor().register_handler(OrderPlaced, send_receipt, timeout=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["Payments", "has space", "with.dot", "9lives", "x" * 49, "ünï"])
def test_invalid_queue_names_are_refused(bad: str) -> None:
    with pytest.raises(HandlerRegistrationError, match="queue name"):
        DomainEventsProcessor().register_handler(OrderPlaced, send_receipt, queue=bad)


@pytest.mark.parametrize("good", ["a", "ai-processing", "payment_2", "x" * 48])
def test_valid_queue_names_are_accepted(good: str) -> None:
    spec = DomainEventsProcessor().register_handler(OrderPlaced, send_receipt, queue=good)

    assert spec.queue == good


def test_invalid_retry_options_are_refused() -> None:
    processor = DomainEventsProcessor()

    with pytest.raises(HandlerRegistrationError, match="max_retries"):
        processor.register_handler(OrderPlaced, send_receipt, name="a", max_retries=-1)
    with pytest.raises(HandlerRegistrationError, match="jitter"):
        processor.register_handler(OrderPlaced, send_receipt, name="b", jitter=1.5)
    with pytest.raises(HandlerRegistrationError, match="max_backoff"):
        processor.register_handler(
            OrderPlaced, send_receipt, name="c", min_backoff=timedelta(hours=1)
        )
    assert len(processor) == 0


# --- unregistering and queues ------------------------------------------------------------


def test_unregister_removes_only_that_handler() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(OrderPlaced, send_receipt, name="a")
    kept = processor.register_handler(OrderPlaced, send_receipt, name="b")

    removed = processor.unregister("a")

    assert removed.name == "a"
    assert processor.handlers_for(OrderPlaced.event_type) == (kept,)
    assert "a" not in processor
    with pytest.raises(UnknownHandler):
        processor.get("a")


def test_unregistering_the_last_handler_of_a_type_leaves_none() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(OrderPlaced, send_receipt, name="only")

    processor.unregister("only")

    assert processor.handlers_for(OrderPlaced.event_type) == ()
    assert len(processor) == 0
    # The name is free again.
    assert processor.register_handler(OrderPlaced, send_receipt, name="only").name == "only"


def test_unregistering_an_unknown_name_raises_unknown_handler() -> None:
    with pytest.raises(UnknownHandler) as caught:
        DomainEventsProcessor().unregister("ghost")

    assert caught.value.name == "ghost"


def test_queues_lists_every_queue_in_use_once_sorted() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(OrderPlaced, send_receipt, name="a", queue="payment")
    processor.register_handler(OrderPlaced, send_receipt, name="b", queue="notification")
    processor.register_handler(OrderShipped, send_receipt, name="c", queue="payment")

    assert processor.queues() == ("notification", "payment")
    processor.unregister("b")
    assert processor.queues() == ("payment",)


# --- queue concurrency ---------------------------------------------------------------------


def test_no_queue_is_declared_until_the_application_declares_it() -> None:
    processor = DomainEventsProcessor()
    processor.register_handler(OrderPlaced, send_receipt, name="a", queue="payment")

    assert dict(processor.queue_concurrency) == {}


def test_declared_queues_and_their_concurrency_are_listed() -> None:
    processor = DomainEventsProcessor()

    processor.declare_queue("payment", concurrency=5)
    processor.declare_queue("payment.high", concurrency=1)
    processor.declare_queue("reports.low", concurrency=256)

    assert dict(processor.queue_concurrency) == {
        "payment": 5,
        "payment.high": 1,
        "reports.low": 256,
    }


def test_declaring_a_queue_again_with_the_same_concurrency_is_harmless() -> None:
    processor = DomainEventsProcessor()
    processor.declare_queue("payment", concurrency=5)

    processor.declare_queue("payment", concurrency=5)

    assert dict(processor.queue_concurrency) == {"payment": 5}


def test_declaring_a_queue_again_with_another_concurrency_is_refused() -> None:
    processor = DomainEventsProcessor()
    processor.declare_queue("payment", concurrency=5)

    with pytest.raises(HandlerRegistrationError, match="already declared with concurrency 5"):
        processor.declare_queue("payment", concurrency=6)
    assert processor.queue_concurrency["payment"] == 5


@pytest.mark.parametrize(
    "bad", ["Payments", "has space", "with.dot", "payment.urgent", ".high", "9lives", "x" * 49, ""]
)
def test_a_malformed_queue_name_cannot_be_declared(bad: str) -> None:
    with pytest.raises(HandlerRegistrationError, match="queue name"):
        DomainEventsProcessor().declare_queue(bad, concurrency=1)


@pytest.mark.parametrize("bad", [0, -1, 257, True, 2.5, "3"])
def test_a_concurrency_out_of_range_is_refused(bad: object) -> None:
    with pytest.raises(HandlerRegistrationError, match="concurrency"):
        DomainEventsProcessor().declare_queue("payment", concurrency=bad)  # type: ignore[arg-type]


def test_the_declared_concurrency_cannot_be_changed_through_the_mapping() -> None:
    processor = DomainEventsProcessor()
    processor.declare_queue("payment", concurrency=5)

    with pytest.raises(TypeError):
        processor.queue_concurrency["payment"] = 9  # type: ignore[index]
