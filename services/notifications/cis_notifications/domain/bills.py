"""How a bill reaches the customer (issue 9, case 6: a bill never delivered started a shutoff clock).

Every bill is mailed on paper unless the customer chose paperless and its email address works; an address the
relay refused for good is not tried again until the customer makes a new choice. Plain rules, no I/O.
"""
from dataclasses import dataclass

MAIL, EMAIL = "mail", "email"


@dataclass(frozen=True)
class DeliveryChoice:
    """The customer's choice as accounts last published it, and what the relay said about its address."""
    paperless: bool
    email: str | None
    email_refused: bool


def bill_channel(choice: DeliveryChoice | None) -> str:
    """No choice on record (none made yet, or its event not here yet) means paper: a bill may go out late on
    paper's terms, but it never goes nowhere."""
    if choice is not None and choice.paperless and choice.email and not choice.email_refused:
        return EMAIL
    return MAIL


def one_line(address: dict) -> str:
    """A postal address on one line, as collections writes it on its notices: "12 Oak St, Ojai, CA 93023"."""
    parts = [address["line1"], address.get("line2"), address["city"],
             f"{address.get('state') or 'CA'} {address['zip']}"]
    return ", ".join(part for part in parts if part)
