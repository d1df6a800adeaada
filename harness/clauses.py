"""The clauses of the Nat destination contract (CONTRACT.md), by id, as data the package carries.

Every check names the clause its verdict rests on, and every failure prints it. The ids and
titles are kept here, not read from CONTRACT.md at run time, so that the harness and its
generated docs work without the contract beside the repository; a test compares them with the
contract's headings whenever it is there.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["CLAUSES", "Clause", "clause_of_field", "clause_title", "require_clause"]

#: A clause id: the section letter and the item number, `B.7`.
Clause = str

#: Every numbered clause of sections A (Segment's facts) and B (decisions), with its heading.
CLAUSES: dict[Clause, str] = {
    "A.1": "Delivery to a partner destination",
    "A.2": "Responses Segment understands",
    "A.3": "Retries",
    "A.4": "Delivery is at least once",
    "A.5": "Spec fields of an identify call",
    "A.6": "Engage",
    "A.7": "Tracking API that Segment's client libraries call",
    "A.8": "The Nat catalog entry",
    "A.9": "The doc's alternative Example 2 is not valid JSON",
    "B.1": "Endpoint",
    "B.2": "Auth",
    "B.3": "Email",
    "B.4": "Timestamp",
    "B.5": "Type",
    "B.6": "Description",
    "B.7": "One entry per contact per day",
    "B.8": "Idempotency",
    "B.9": "User properties",
    "B.10": "Success body",
    "B.11": "Read API",
    "B.12": "Durability",
    "B.13": "Every answer is JSON",
    "B.14": "The Segment simulator",
}

#: Which clause decides about a field a call or an error body names (CONTRACT B.3 to B.8).
_FIELD_CLAUSES: dict[str, Clause] = {
    "traits.email": "B.3",
    "context.traits.email": "B.3",
    "email": "B.3",
    "timestamp": "B.4",
    "type": "B.5",
    "body": "B.5",
    "traits": "B.5",
    "context": "B.5",
    "page": "B.5",
    "context.traits": "B.5",
    "context.page": "B.5",
    "page.url": "B.6",
    "context.page.url": "B.6",
    "url": "B.6",
    "event": "B.6",
    "messageId": "B.8",
}


def clause_title(clause: Clause) -> str:
    """`B.7 (One entry per contact per day)`: how reports name a clause."""
    return f"{clause} ({CLAUSES[clause]})"


def require_clause(clauses: Iterable[Clause]) -> tuple[Clause, ...]:
    """The clauses as a tuple, each checked to be one of CONTRACT.md's (ValueError otherwise)."""
    chosen = tuple(clauses)
    unknown = [clause for clause in chosen if clause not in CLAUSES]
    if unknown or not chosen:
        raise ValueError(
            f"clauses must be ids of CONTRACT.md such as 'B.7', got {list(chosen)!r}"
            + (f" ({', '.join(unknown)} unknown)" if unknown else "")
        )
    return chosen


def clause_of_field(field: object) -> Clause | None:
    """The clause that decides about `field` (a JSON path such as `traits.email`), if any; an
    authorization field of any spelling is B.2."""
    if not isinstance(field, str):
        return None
    if "auth" in field.lower() or "key" in field.lower():
        return "B.2"
    return _FIELD_CLAUSES.get(field)
