"""The load test's picture: throughput over time and the latency distribution, as a PNG.

matplotlib is optional (the ``plot`` extra); it is imported only here, with the non-interactive
Agg backend so that it never needs a display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from enterprise_sqs.cli.loadtest import LoadTestResult

__all__ = ["require_matplotlib", "write_plot"]


def require_matplotlib() -> None:
    """Raises: click.UsageError when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401  # only checking that it is there
    except ImportError:
        raise click.UsageError(
            "--plot needs matplotlib: pip install 'enterprise-sqs[plot]'"
        ) from None


def write_plot(result: LoadTestResult, path: Path) -> None:
    """Draw ``result`` into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from enterprise_sqs.cli.loadtest import BUCKET, percentile

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), layout="constrained")
    last = max([0, *result.published_buckets, *result.consumed_buckets])
    times = [i * BUCKET for i in range(last + 1)]
    for label, buckets in (
        ("published", result.published_buckets),
        ("consumed", result.consumed_buckets),
    ):
        top.plot(times, [buckets.get(i, 0) / BUCKET for i in range(last + 1)], label=label)
    top.set_title(f"Throughput: {result.messages:,} messages on {result.queue}")
    top.set_xlabel("seconds since start")
    top.set_ylabel("messages / second")
    top.legend()
    top.grid(alpha=0.3)

    latencies_ms = sorted(v * 1000 for v in result.latencies)
    if latencies_ms:
        bottom.hist(latencies_ms, bins=60, color="tab:blue", alpha=0.8)
        for name, fraction, colour in (
            ("p50", 0.50, "tab:green"),
            ("p95", 0.95, "tab:orange"),
            ("p99", 0.99, "tab:red"),
        ):
            value = percentile(latencies_ms, fraction)
            bottom.axvline(value, color=colour, linestyle="--", label=f"{name} {value:.1f} ms")
        bottom.legend()
    bottom.set_title("End-to-end latency (publish call to handler)")
    bottom.set_xlabel("milliseconds")
    bottom.set_ylabel("messages")
    bottom.grid(alpha=0.3)
    figure.savefig(path, format="png", dpi=100, metadata={"Title": "esqs loadtest"})
    plt.close(figure)
