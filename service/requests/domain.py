"""The request the generator reads (``ParsedRequest``): the prompt read, the explicit fields
laid over it (they win), and the result checked for sense; ``RequestError`` otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from knowledge.vocabulary import Term, TumourGroup
from service.records import RequestedRecord, Sex
from service.requests.common import (
    ASKING,
    BLOCKS,
    DEFAULT_BLOCKS,
    DESCRIBING,
    FIRST_LINE,
    MAX_PROMPT,
    NOTHING_TO_GENERATE,
    SECOND_TUMOUR_BLOCKS,
    RequestError,
)
from service.requests.prompt import Reading, read_prompt
from service.requests.tumours import resolve_tumour
from service.requests.wire import RequestFields, validation_message


@dataclass(frozen=True)
class ParsedRequest:
    """What to generate. Booleans say which treatment blocks the record must have; the
    generator may add what the diagnosis makes clinically usual only where a field is None."""

    prompt: str
    age: int | None
    sex: Sex | None
    morphology: Term | None
    chemotherapy: bool
    radiotherapy: bool
    metastatic: bool | None  # None: the model chooses
    language: str  # "en" or "es"
    surgery: bool = False
    hsct: bool = False
    others: bool = False
    relapse: bool | None = None  # relapse after first-line treatment; None: not asked
    second_tumour: Term | None = None  # the second tumour's morphology, when one is asked
    # The second tumour's treatment blocks asked for, each required; None: none named
    second_tumour_blocks: tuple[str, ...] | None = None
    overrides: tuple[str, ...] = ()  # where an explicit field replaced what the prompt said
    from_fields: tuple[str, ...] = ()  # the explicit fields given besides the prompt
    age_now: int | None = None  # the patient's age today, where the prompt gives both
    locale: str | None = None  # Faker locale of the invented identity; None: the configured one
    shunt: bool | None = None  # a CSF diversion asked for (a surgery item) or refused
    triple_intrathecal: bool | None = None  # asked for (with chemotherapy) or refused
    brachytherapy: bool | None = None  # a brachytherapy course asked for or refused
    metabolic_therapy: bool | None = None  # a metabolic (radionuclide) course asked or refused
    genetic_conditions: tuple[str, ...] = ()  # predisposition syndromes asked for
    risk_group: str | None = None  # a protocol risk group asked for (knowledge.risk)

    @property
    def blocks(self) -> list[str]:
        """The treatment blocks asked for, in record order (a shunt is a surgery item,
        brachytherapy and metabolic therapy radiotherapy courses)."""
        implied = {
            "surgery": bool(self.shunt),
            "radiotherapy": bool(self.brachytherapy or self.metabolic_therapy),
        }
        return [b for b in BLOCKS if getattr(self, b) or implied.get(b, False)]

    def second_tumour_treatment(self) -> tuple[frozenset[str], bool]:
        """The second tumour's blocks, and whether each is required: those asked for, else
        the first tumour's kinds of treatment (chemotherapy where it had none of them),
        given where the second tumour's evidence allows."""
        if self.second_tumour_blocks is not None:
            return frozenset(self.second_tumour_blocks), True
        return _second_default(self.chemotherapy, self.radiotherapy, self.surgery), False

    def understood(self) -> RequestedRecord:
        """What the record must hold, as provenance keeps it."""

        def codes(term: Term | None) -> list[str]:
            if term is None:
                return []
            return list(term.members) if isinstance(term, TumourGroup) else [term.code]

        return RequestedRecord(
            blocks=self.blocks,
            age=self.age,
            age_now=self.age_now,
            sex=self.sex,
            diagnosis=self.morphology.term if self.morphology else None,
            diagnosis_codes=codes(self.morphology),
            metastatic=self.metastatic,
            relapse=self.relapse,
            second_tumour=self.second_tumour.term if self.second_tumour else None,
            second_tumour_codes=codes(self.second_tumour),
            second_tumour_blocks=(
                list(self.second_tumour_blocks) if self.second_tumour_blocks is not None else None
            ),
            shunt=self.shunt,
            triple_intrathecal=self.triple_intrathecal,
            brachytherapy=self.brachytherapy,
            metabolic_therapy=self.metabolic_therapy,
            genetic_conditions=list(self.genetic_conditions),
            risk_group=self.risk_group,
            from_fields=list(self.from_fields),
        )


def parse_request(prompt: str) -> ParsedRequest:
    """A request given only as free text."""
    text = prompt.strip()
    if not text:
        raise RequestError("the prompt is empty: describe the patient to generate")
    if len(text) > MAX_PROMPT:
        raise RequestError(f"the prompt is {len(text)} characters; the limit is {MAX_PROMPT}")
    return build_request(RequestFields(prompt=text))


def request_from(**values: Any) -> ParsedRequest:
    """``build_request`` from plain values (CLI options), None meaning not given; a value
    that fails its field's check is a RequestError naming the field."""
    try:
        fields = RequestFields(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        raise RequestError(validation_message(exc)) from exc
    return build_request(fields)


def build_request(fields: RequestFields) -> ParsedRequest:
    """Read the prompt, overlay the explicit fields, and check the result makes sense."""
    text = (fields.prompt or "").strip()
    if not fields.describes_patient():
        if fields.prompt is not None:
            raise RequestError("the prompt is empty: describe the patient to generate")
        raise RequestError(NOTHING_TO_GENERATE)
    given = {name for name in (*DESCRIBING, *ASKING) if getattr(fields, name) is not None}
    read = read_prompt(text, explicit=given) if text else Reading()
    diagnosis = resolve_tumour(fields.diagnosis, "diagnosis") if fields.diagnosis else None
    second = resolve_tumour(fields.second_tumour, "second_tumour") if fields.second_tumour else None
    explicit_blocks = frozenset(fields.blocks) if fields.blocks is not None else None
    notes: list[str] = []

    def pick(name: str, explicit: Any, prompt_value: Any) -> Any:
        if explicit is None:
            return prompt_value
        if prompt_value is not None and prompt_value != explicit:
            notes.append(
                f"{name}: the field's {_show(explicit)} replaces the prompt's {_show(prompt_value)}"
            )
        return explicit

    morphology: Term | None = pick("diagnosis", diagnosis, read.morphology)
    blocks: frozenset[str] | None = pick("blocks", explicit_blocks, read.blocks)
    if blocks is None:
        blocks = DEFAULT_BLOCKS
    relapse: bool | None = pick("relapse", fields.relapse, read.relapse)
    second_tumour: Term | None = pick("second_tumour", second, read.second_tumour)
    if second_tumour is not None and morphology is not None and second_tumour == morphology:
        raise RequestError(
            f"the second tumour ({second_tumour.term}) is the same as the first: a second "
            "tumour must be a different tumour (ask for a relapse with 'relapse' instead)"
        )
    second_blocks = _second_tumour_blocks(
        pick(
            "second_tumour_blocks",
            frozenset(fields.second_tumour_blocks)
            if fields.second_tumour_blocks is not None
            else None,
            read.second_tumour_blocks,
        ),
        read.second_tumour_refused if "second_tumour_blocks" not in given else frozenset(),
        second_tumour,
        first=blocks,
    )
    shunt: bool | None = pick("shunt", fields.shunt, read.shunt)
    triple: bool | None = pick(
        "triple_intrathecal", fields.triple_intrathecal, read.triple_intrathecal
    )
    brachytherapy: bool | None = pick("brachytherapy", fields.brachytherapy, read.brachytherapy)
    metabolic: bool | None = pick(
        "metabolic_therapy", fields.metabolic_therapy, read.metabolic_therapy
    )
    syndromes: tuple[str, ...] = (
        pick(
            "genetic_conditions",
            tuple(fields.genetic_conditions) if fields.genetic_conditions is not None else None,
            read.genetic_conditions or None,
        )
        or ()
    )
    risk_group: str | None = pick("risk_group", fields.risk_group, read.risk_group)
    blocks = _with_implied(blocks, explicit_blocks, shunt=shunt, triple=triple)
    if explicit_blocks is not None and "radiotherapy" not in explicit_blocks:
        for name, asked in (("brachytherapy", brachytherapy), ("metabolic_therapy", metabolic)):
            if asked:
                raise RequestError(
                    f"{name.replace('_', ' ')} is a radiotherapy course: add radiotherapy to "
                    f"blocks, or drop {name}"
                )
    if relapse and not blocks & FIRST_LINE:
        raise RequestError(
            "relapse after first-line treatment needs a first-line treatment: ask for "
            "chemotherapy, radiotherapy, surgery or hsct as well, or drop the relapse"
        )
    return ParsedRequest(
        prompt=_request_text(fields, text, diagnosis, second),
        age=pick("age", fields.age, read.age),
        sex=pick("sex", fields.sex, read.sex),
        morphology=morphology,
        chemotherapy="chemotherapy" in blocks,
        radiotherapy="radiotherapy" in blocks,
        metastatic=read.metastatic,
        language=fields.language or read.language or "en",
        surgery="surgery" in blocks,
        hsct="hsct" in blocks,
        others="others" in blocks,
        relapse=relapse,
        second_tumour=second_tumour,
        second_tumour_blocks=second_blocks,
        overrides=tuple(notes),
        from_fields=tuple(sorted(given)),
        age_now=read.age_now if "age" not in given else None,
        locale=fields.locale,
        shunt=shunt,
        triple_intrathecal=triple,
        brachytherapy=brachytherapy,
        metabolic_therapy=metabolic,
        genetic_conditions=syndromes,
        risk_group=risk_group,
    )


def _second_default(chemotherapy: bool, radiotherapy: bool, surgery: bool) -> frozenset[str]:
    """The first tumour's kinds of treatment, chemotherapy where it had none of them."""
    kinds = {"chemotherapy": chemotherapy, "radiotherapy": radiotherapy, "surgery": surgery}
    return frozenset(b for b, asked in kinds.items() if asked) or frozenset({"chemotherapy"})


def _second_tumour_blocks(
    asked: frozenset[str] | None,
    refused: frozenset[str],
    second: Term | None,
    *,
    first: frozenset[str],
) -> tuple[str, ...] | None:
    """The second tumour's blocks in record order; None where none is named. A clause that
    only refuses some ("second tumour: Hodgkin lymphoma, without radiotherapy") asks for the
    default's others. A transplant or supportive care cannot be the second tumour's."""
    refused &= frozenset(SECOND_TUMOUR_BLOCKS)  # "no transplant" changes no default
    if asked is None and refused:
        default = _second_default(
            "chemotherapy" in first, "radiotherapy" in first, "surgery" in first
        )
        asked = default - refused
        if not asked:
            raise RequestError(
                "the prompt refuses the second tumour's "
                + _show(refused)
                + " and names no other treatment for it: name one (e.g. 'second tumour: "
                "Hodgkin lymphoma, with chemotherapy') or give second_tumour_blocks"
            )
    if asked is None:
        return None
    if second is None:
        raise RequestError(
            "second_tumour_blocks gives a second tumour's treatment but no second tumour is "
            "asked for: give second_tumour, or name it in the prompt ('second tumour: <name>')"
        )
    if "hsct" in asked:
        raise RequestError(
            f"a transplant (hsct) for the second tumour ({second.term}) cannot be generated: "
            "a record's second tumour holds chemotherapy, radiotherapy and surgery only; ask "
            "for the transplant among the first tumour's blocks, or leave it out"
        )
    if "others" in asked:
        raise RequestError(
            "others (supportive care) belongs to the record, not to one tumour: put it in "
            "blocks, not in second_tumour_blocks"
        )
    return tuple(b for b in SECOND_TUMOUR_BLOCKS if b in asked)


def _with_implied(
    blocks: frozenset[str],
    explicit: frozenset[str] | None,
    *,
    shunt: bool | None,
    triple: bool | None,
) -> frozenset[str]:
    """Triple intrathecal therapy is given with chemotherapy: asked for, it brings the
    chemotherapy block (a shunt brings surgery through ``ParsedRequest.blocks``); an
    explicit list of blocks without it is a contradiction."""
    if explicit is not None and shunt and "surgery" not in explicit:
        raise RequestError("a shunt is a surgery item: add surgery to blocks, or drop shunt")
    if triple and "chemotherapy" not in blocks:
        if explicit is not None:
            raise RequestError(
                "triple intrathecal therapy is given with chemotherapy: add chemotherapy to "
                "blocks, or drop triple_intrathecal"
            )
        return blocks | {"chemotherapy"}
    return blocks


def _show(value: Any) -> str:
    if isinstance(value, Term):
        return f"{value.term} ({value.code})"
    if isinstance(value, frozenset):
        return ", ".join(b for b in BLOCKS if b in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _request_text(
    fields: RequestFields, prompt: str, diagnosis: Term | None, second: Term | None
) -> str:
    """The prompt plus the explicit fields: what the model reads and what names the record
    (a prompt alone is unchanged, so its records stay reproducible)."""
    parts = [prompt] if prompt else []
    if fields.age is not None:
        parts.append(f"age {fields.age}")
    if fields.sex is not None:
        parts.append(fields.sex)
    if diagnosis is not None:
        parts.append(f"diagnosis: {_show(diagnosis)}")
    if fields.blocks is not None:
        parts.append(f"treatment: {_show(frozenset(fields.blocks))}")
    if fields.relapse is not None:
        parts.append("relapse after first-line treatment" if fields.relapse else "no relapse")
    if second is not None:
        parts.append(f"second tumour: {_show(second)}")
    if fields.second_tumour_blocks is not None:
        shown = _show(frozenset(fields.second_tumour_blocks))
        parts.append(f"second tumour's treatment: {shown}")
    if fields.shunt is not None:
        parts.append("with a shunt" if fields.shunt else "no shunt")
    if fields.triple_intrathecal is not None:
        parts.append(
            "triple intrathecal therapy" if fields.triple_intrathecal else "no triple intrathecal"
        )
    if fields.brachytherapy is not None:
        parts.append("brachytherapy" if fields.brachytherapy else "no brachytherapy")
    if fields.metabolic_therapy is not None:
        parts.append("metabolic therapy" if fields.metabolic_therapy else "no metabolic therapy")
    if fields.genetic_conditions:
        parts.append(f"with {', '.join(fields.genetic_conditions)}")
    if fields.risk_group is not None:
        parts.append(f"{fields.risk_group} risk")
    if fields.language is not None:
        parts.append(f"language {fields.language}")
    if fields.locale is not None:
        parts.append(f"locale {fields.locale}")
    return "; ".join(parts)
