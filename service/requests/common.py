"""What every part of a request shares: the treatment blocks, limits, the error type."""

from __future__ import annotations

from typing import Literal

Block = Literal["chemotherapy", "radiotherapy", "surgery", "hsct", "others"]
BLOCKS: tuple[Block, ...] = ("chemotherapy", "radiotherapy", "surgery", "hsct", "others")
FIRST_LINE = frozenset({"chemotherapy", "radiotherapy", "surgery", "hsct"})
DEFAULT_BLOCKS = frozenset({"chemotherapy", "radiotherapy"})
# What a record's second tumour holds (``SecondTumour``): a transplant and supportive care
# ("others") are not among them.
SECOND_TUMOUR_BLOCKS: tuple[Block, ...] = ("chemotherapy", "radiotherapy", "surgery")
MAX_AGE = 25
MAX_PROMPT = 2000
# Fields that describe the patient: a request needs a prompt or at least one of them.
DESCRIBING = ("age", "sex", "diagnosis", "blocks", "relapse", "second_tumour")
# Fields that ask for an item of a block, or for the second tumour's treatment; given alone
# they need a prompt or a describing field.
ASKING = (
    "shunt",
    "triple_intrathecal",
    "second_tumour_blocks",
    "brachytherapy",
    "metabolic_therapy",
    "genetic_conditions",
    "risk_group",
)
NOTHING_TO_GENERATE = "nothing to generate: give a prompt or at least one of " + ", ".join(
    DESCRIBING
)
# What a client reads when it sends neither a prompt nor a describing field.
REQUIRED_UNLESS_DESCRIBED = "Field required unless one of " + ", ".join(DESCRIBING) + " is given"


# Words that carry no content between a negation and what it governs, or around a name.
FILLERS = {
    "a", "an", "any", "the", "prior", "previous", "received", "having", "had", "or", "and",
    "nor", "o", "u", "y", "e", "ni", "un", "una", "ningún", "ninguna", "haber", "recibido",
    "de", "la", "el", "with", "con", "sign", "signs", "evidence", "of",
}  # fmt: skip


# Triple intrathecal therapy: methotrexate, cytarabine and a corticosteroid (hydrocortisone
# in COG protocols, prednisolone in AIEOP-BFM ones).
TRIPLE_INTRATHECAL = frozenset({"methotrexate", "cytarabine"})
INTRATHECAL_CORTICOSTEROIDS = frozenset({"hydrocortisone", "prednisolone"})


def is_triple_intrathecal(drugs: list[str]) -> bool:
    """Methotrexate, cytarabine and one corticosteroid, nothing else."""
    named = set(drugs)
    steroids = named & INTRATHECAL_CORTICOSTEROIDS
    return len(drugs) == 3 and named >= TRIPLE_INTRATHECAL and len(steroids) == 1


class RequestError(ValueError):
    """A request that cannot be generated as asked; the message says what is wrong."""


def age_problem(age: int) -> str:
    if age < 0:
        return f"{age} is negative: give the age at diagnosis in whole years, 0 to {MAX_AGE}"
    if age > MAX_AGE:
        return (
            f"{age} is outside paediatric and young-adult oncology (0-{MAX_AGE}): "
            f"give an age from 0 to {MAX_AGE}"
        )
    return ""
