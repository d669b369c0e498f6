"""A generation request as a client sends it (HTTP body, CLI options): ``RequestFields``."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from knowledge.vocabulary import syndrome_by_name
from service.generation.locales import locale_problem, normalised_locale
from service.records import RiskGroup, Sex
from service.requests.common import (
    BLOCKS,
    DESCRIBING,
    MAX_AGE,
    MAX_PROMPT,
    NOTHING_TO_GENERATE,
    REQUIRED_UNLESS_DESCRIBED,
    Block,
    age_problem,
)
from service.requests.risk import RISK_GROUPS, risk_group_alias
from service.requests.seeds import MAX_SEED

_BLOCK_ALIASES: dict[str, Block] = {
    **{b: b for b in BLOCKS},
    **dict.fromkeys(("chemo", "quimio", "quimioterapia"), "chemotherapy"),
    **dict.fromkeys(("radio", "radiation", "radioterapia", "rt"), "radiotherapy"),
    **dict.fromkeys(("cirugía", "cirugia", "surgical"), "surgery"),
    **dict.fromkeys(
        ("transplant", "trasplante", "transplante", "tph", "sct", "stem cell transplant"), "hsct"
    ),
    **dict.fromkeys(("other", "otros", "otras", "otro"), "others"),
}
_USABLE = {
    "blocks": "chemotherapy, radiotherapy, surgery, hsct or others",
    "second_tumour_blocks": "chemotherapy, radiotherapy or surgery",
}
_SEX_ALIASES: dict[str, Sex] = {
    **dict.fromkeys(("female", "f", "mujer", "femenino", "girl", "niña"), "female"),
    **dict.fromkeys(("male", "m", "hombre", "masculino", "varón", "boy", "niño"), "male"),
}
_LANGUAGE_ALIASES = {
    **dict.fromkeys(("en", "english", "inglés", "ingles"), "en"),
    **dict.fromkeys(("es", "spanish", "español", "espanol", "castellano"), "es"),
}


class RequestFields(BaseModel):
    """A generation request as a client sends it: structured fields, a free-text prompt, or
    both. The prompt is read into the same fields; a field given explicitly wins."""

    # Strict: a number sent as a string is refused, as the schema says. The schema also says
    # what the prompt check enforces: a prompt or a describing field, not null.
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("prompt", *DESCRIBING)
            ]
        },
    )

    age: int | None = Field(
        None, ge=0, le=MAX_AGE, description="Age at diagnosis in whole years, 0 to 25"
    )
    sex: Literal["female", "male"] | None = Field(
        None, description="female or male (Spanish femenino/masculino accepted)"
    )
    diagnosis: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="The tumour, in English or Spanish, or its ICD-O-3 morphology code "
        "(osteosarcoma, sarcoma de Ewing, 9180/3); unknown names get close matches suggested",
    )
    blocks: list[Block] | None = Field(
        None,
        description="Exactly these treatment blocks (Spanish quimioterapia, radioterapia, "
        "cirugía, trasplante/TPH, otros accepted); default: the ones the prompt names, "
        "else chemotherapy and radiotherapy",
    )
    relapse: bool | None = Field(None, description="Relapse after first-line treatment")
    second_tumour: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="A second, different tumour (same names and codes as diagnosis)",
    )
    second_tumour_blocks: list[Block] | None = Field(
        None,
        description="Exactly these treatment blocks for the second tumour: chemotherapy, "
        "radiotherapy, surgery (the names of blocks; a transplant or others is refused with "
        "the reason); default: the ones the prompt's second-tumour clause names, else the "
        "first tumour's kinds of treatment",
    )
    shunt: bool | None = Field(
        None,
        description="A CSF diversion (ventriculoperitoneal shunt, ventriculostomy, drain) in "
        "the surgery block: true asks for one (surgery is then in the record), false refuses "
        "it; default: where the tumour's guideline names one",
    )
    triple_intrathecal: bool | None = Field(
        None,
        description="Intrathecal therapy as the triple combination (methotrexate, cytarabine "
        "and hydrocortisone): true asks for it (chemotherapy is then in the record), false "
        "refuses it",
    )
    brachytherapy: bool | None = Field(
        None,
        description="A brachytherapy course (sealed source, applicator, dose rate) in the "
        "radiotherapy block: true asks for one (radiotherapy is then in the record), false "
        "refuses it; default: now and then where the tumour's guideline gives one",
    )
    metabolic_therapy: bool | None = Field(
        None,
        description="Metabolic (radionuclide) therapy, e.g. 131I-MIBG with its activity, in the "
        "radiotherapy block: true asks for it, false refuses it; default: now and then where "
        "the tumour's guideline gives it as first-line treatment",
    )
    genetic_conditions: list[str] | None = Field(
        None,
        max_length=5,
        description="Cancer predisposition syndromes the patient has (English, Spanish or "
        "Portuguese names: Li-Fraumeni syndrome, síndrome de Down, NF1); each must be one the "
        "tumour's guideline ties to it. Default: sometimes one the guideline ties to it",
    )
    risk_group: RiskGroup | None = Field(
        None,
        description="The protocol risk group the treatment is for: low, standard, intermediate "
        "or high (average, medium, very high and Spanish or Portuguese names accepted); the "
        "tumour's guideline must name it. Default: the prompt's ('high-risk neuroblastoma'), "
        "else one its regimens are given for",
    )
    language: Literal["en", "es"] | None = Field(
        None,
        description="Language of the record's text (the names and identifiers do not follow "
        "it: see locale). Default: the prompt's language, else en",
    )
    locale: str | None = Field(
        None,
        min_length=2,
        max_length=20,
        description="Faker locale the invented names, phone and e-mail come from (es_ES, "
        "es_MX, en_GB, pt_PT...), whatever the record's language. Default: the deployment's "
        "records.locale (CLINSYNTH_LOCALE, es_ES); the health-card number stays SIP-style",
    )
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="Same seed, same record")
    count: int | None = Field(None, ge=1, le=100, description="How many patients, 1 to 100")
    # Last, so its check sees the other fields.
    prompt: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_PROMPT,
        validate_default=True,
        description="The patient in plain English or Spanish; required unless one of age, "
        "sex, diagnosis, blocks, relapse or second_tumour is given",
    )

    @field_validator("age", mode="before")
    @classmethod
    def _age_in_range(cls, value: Any) -> Any:
        try:
            age = int(value)
        except (TypeError, ValueError):
            return value  # the type check names it
        if problem := age_problem(age):
            raise PydanticCustomError("age_range", problem)
        return value

    @field_validator("sex", mode="before")
    @classmethod
    def _sex_alias(cls, value: Any) -> Any:
        return _SEX_ALIASES.get(value.strip().lower(), value) if isinstance(value, str) else value

    @field_validator("language", mode="before")
    @classmethod
    def _language_alias(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = value.strip().lower()
        found = _LANGUAGE_ALIASES.get(key) or _LANGUAGE_ALIASES.get(re.split(r"[-_]", key)[0])
        if found is None:
            raise PydanticCustomError(
                "language", "'{value}' is not a supported language: use en or es", {"value": value}
            )
        return found

    @field_validator("risk_group", mode="before")
    @classmethod
    def _risk_group_alias(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found = risk_group_alias(value)
        if found is None:
            raise PydanticCustomError(
                "risk_group",
                "'{value}' is not a risk group: use {usable}",
                {"value": value, "usable": ", ".join(RISK_GROUPS)},
            )
        return found

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if problem := locale_problem(value):
            raise PydanticCustomError("locale", problem)
        return normalised_locale(value)

    @field_validator("blocks", "second_tumour_blocks", mode="before")
    @classmethod
    def _block_aliases(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            return value
        blocks: list[Any] = []
        for item in value:
            if isinstance(item, str):
                key = " ".join(item.strip().lower().replace("-", " ").split())
                if key not in _BLOCK_ALIASES:
                    raise PydanticCustomError(
                        "block",
                        "unknown treatment block '{block}': use {usable}",
                        {"block": item, "usable": _USABLE[info.field_name or "blocks"]},
                    )
                item = _BLOCK_ALIASES[key]
            if item not in blocks:
                blocks.append(item)
        return blocks

    @field_validator("genetic_conditions")
    @classmethod
    def _known_syndromes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        known = []
        for name in value:
            syndrome = syndrome_by_name(name)
            if syndrome is None:
                raise PydanticCustomError(
                    "syndrome",
                    "'{name}' is not a predisposition syndrome of the vocabulary "
                    "(knowledge/vocab/predisposition_syndromes.csv): e.g. Li-Fraumeni syndrome, "
                    "Down syndrome, neurofibromatosis type 1",
                    {"name": name},
                )
            known.append(syndrome.term)
        return list(dict.fromkeys(known))

    @field_validator("prompt")
    @classmethod
    def _something_to_generate(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A describing field that failed its own check is absent here: no second error.
        if value is None and all(n in info.data and info.data[n] is None for n in DESCRIBING):
            raise PydanticCustomError("missing", REQUIRED_UNLESS_DESCRIBED)
        return value

    def describes_patient(self) -> bool:
        return bool((self.prompt or "").strip()) or any(
            getattr(self, name) is not None for name in DESCRIBING
        )


def validation_message(exc: ValidationError) -> str:
    """One line: ``field: problem; field: problem``."""
    return "; ".join(
        NOTHING_TO_GENERATE
        if e["loc"] == ("prompt",) and e["type"] == "missing"
        else ".".join(str(part) for part in e["loc"]) + f": {e['msg']}"
        for e in exc.errors()
    )
