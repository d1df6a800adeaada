"""What explore tells people: the minimal sequence as numbered curl lines with each answer, the
divergence (what the target answered, what the contract says, the clause), and the recording."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.text import Text

from harness.explore.search import ExploreResult
from harness.recording import RecordedAnswer, RecordedRequest, RecordingWriter, masked_headers
from harness.target import Exchange, authorization_for

__all__ = ["render_result", "save_failure"]


def render_result(result: ExploreResult, console: Console) -> None:
    """Print how the exploration ended; for a divergence, the minimal sequence in full."""
    tried = f"{result.examples} examples, {result.steps_sent} calls sent, seed {result.seed}"
    divergence = result.divergence
    if divergence is None:
        console.print(Text.assemble(("nothing found", "bold green"), f": {tried}"))
        return
    console.print(
        Text.assemble(
            ("divergence from the contract", "bold red"),
            f" ({divergence.clause}) after {tried}; minimal sequence, {len(result.steps)} "
            f"step{'s' if len(result.steps) != 1 else ''}:",
        )
    )
    number = 0
    for index, step in enumerate(result.steps, start=1):
        console.print(Text(f"step {index}: {step.label}", style="bold"))
        for exchange in step.exchanges:
            number += 1
            console.print(Text(f"  {number}. {exchange.sent.curl()}"), soft_wrap=True)
            console.print(Text(f"     -> {exchange.received()}", style="dim"), soft_wrap=True)
    console.print(
        Text.assemble(("target:   ", "bold"), f"step {divergence.step}: {divergence.answered}")
    )
    console.print(
        Text.assemble(("contract: ", "bold"), f"{divergence.contract} ({divergence.clause})")
    )
    if result.flaky:
        console.print(
            Text("the failure did not always happen again when repeated (a race?)", style="yellow")
        )


def save_failure(result: ExploreResult, path: Path, target: str) -> int:
    """Write the minimal sequence's calls and answers as a recording; returns how many."""
    with RecordingWriter(path, target) as writer:
        offset = 0.0
        for step in result.steps:
            for exchange in step.exchanges:
                writer.add(_recorded_request(exchange), _recorded_answer(exchange), offset=offset)
                offset += exchange.elapsed
        return writer.count


def _recorded_request(exchange: Exchange) -> RecordedRequest:
    sent = exchange.sent
    headers = dict(sent.headers)
    authorization = authorization_for(sent.auth, "key")
    if authorization is not None:
        headers["Authorization"] = authorization
    parts = urlsplit(sent.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    body = (sent.body or b"").decode("utf-8", errors="backslashreplace")
    recorded = masked_headers(headers)
    if sent.auth in ("wrong", "wrong-bearer") and authorization is not None:
        recorded["Authorization"] = authorization_for(sent.auth, "not-the-key") or ""
    return RecordedRequest(sent.method, path or "/", recorded, body)


def _recorded_answer(exchange: Exchange) -> RecordedAnswer:
    return RecordedAnswer(
        exchange.status, exchange.body.decode("utf-8", errors="backslashreplace"), exchange.error
    )
