"""The sizes of every case: the default run (the issue's numbers) and ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    name: str
    # 1. ack latency
    ack_requests: int
    ack_concurrency: int
    ack_rounds: int
    ack_serial_requests: int  # then one at a time, while queued sends are delivered
    ack_background_sends: int  # queued just before the serial round, delivered during it
    # 2. delivery throughput
    deliveries: int
    thread_size: int
    delivery_rounds: int
    # 3. rendering
    render_messages: int
    render_rounds: int
    # 4. storage at size (10 destinations and 100 deliveries per user)
    storage_small_users: int
    storage_big_users: int
    storage_samples: int
    storage_rounds: int
    # 5. end to end
    e2e_runs: int
    e2e_thread_size: int
    # 6. no growth: the bot's RSS after the first checkpoint's deliveries and after all
    growth_deliveries: int
    growth_checkpoint: int
    growth_thread_size: int
    # 7. scale-out: sends spread over two instances on PostgreSQL
    scale_deliveries: int


DEFAULT = Config(
    name="default",
    ack_requests=2_000,
    ack_concurrency=50,
    ack_rounds=2,
    ack_serial_requests=400,
    ack_background_sends=300,
    deliveries=1_000,
    thread_size=20,
    delivery_rounds=2,
    render_messages=5_000,
    render_rounds=3,
    storage_small_users=100,
    storage_big_users=10_000,
    storage_samples=600,
    storage_rounds=2,
    e2e_runs=50,
    e2e_thread_size=250,
    growth_deliveries=10_000,
    growth_checkpoint=1_000,
    growth_thread_size=3,
    scale_deliveries=2_000,
)

QUICK = Config(
    name="quick",
    ack_requests=300,
    ack_concurrency=50,
    ack_rounds=1,
    ack_serial_requests=40,
    ack_background_sends=20,
    deliveries=40,
    thread_size=20,
    delivery_rounds=1,
    render_messages=5_000,
    render_rounds=1,
    storage_small_users=10,
    storage_big_users=100,
    storage_samples=100,
    storage_rounds=1,
    e2e_runs=5,
    e2e_thread_size=250,
    growth_deliveries=600,
    growth_checkpoint=100,
    growth_thread_size=3,
    scale_deliveries=100,
)

DESTINATIONS_PER_USER = 10
DELIVERIES_PER_USER = 100
