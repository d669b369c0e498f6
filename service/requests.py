"""What a generation request asks for: structured fields and a plain-language prompt.

``RequestFields`` is the request as a client sends it (HTTP body, CLI options). Its free-text
``prompt`` (English or Spanish) is read into the same fields and the explicit fields win.
``build_request`` turns it into the ``ParsedRequest`` the generator reads, or raises
``RequestError`` saying what is wrong and how to fix it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from knowledge.vocabulary import Term, find_terms, morphologies
from service.records import Sex

Block = Literal["chemotherapy", "radiotherapy", "surgery", "hsct", "others"]
BLOCKS: tuple[Block, ...] = ("chemotherapy", "radiotherapy", "surgery", "hsct", "others")
FIRST_LINE = frozenset({"chemotherapy", "radiotherapy", "surgery", "hsct"})
DEFAULT_BLOCKS = frozenset({"chemotherapy", "radiotherapy"})
MAX_AGE = 25
MAX_PROMPT = 2000
CLOSE = 0.75  # difflib ratio above which a name is suggested
# Fields that describe the patient: a request needs a prompt or at least one of them.
DESCRIBING = ("age", "sex", "diagnosis", "blocks", "relapse", "second_tumour")
NOTHING_TO_GENERATE = "nothing to generate: give a prompt or at least one of " + ", ".join(
    DESCRIBING
)
MAX_SEED = 2**31 - 1  # seeds are stored as 32-bit integers


def seed_at(seed: int, offset: int) -> int:
    """``seed + offset`` kept within 0..MAX_SEED (wrapping), for the seeds derived from a
    request's: a batch's items and retries, a record's repair attempts."""
    return (seed + offset) % (MAX_SEED + 1)


# What a client reads when it sends neither a prompt nor a describing field.
REQUIRED_UNLESS_DESCRIBED = "Field required unless one of " + ", ".join(DESCRIBING) + " is given"
LOCALES = {"es": "es_ES", "en": "en_GB"}

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
_SEX_ALIASES: dict[str, Sex] = {
    **dict.fromkeys(("female", "f", "mujer", "femenino", "girl", "niña"), "female"),
    **dict.fromkeys(("male", "m", "hombre", "masculino", "varón", "boy", "niño"), "male"),
}
_LANGUAGE_ALIASES = {
    **dict.fromkeys(("en", "english", "inglés", "ingles"), "en"),
    **dict.fromkeys(("es", "spanish", "español", "espanol", "castellano"), "es"),
}

_AGE = re.compile(
    r"(?<![\d-])(\d{1,3})\s*-?\s*(?:years?|yrs?|y/o|años|año|anos)\b|\baged?\s+(\d{1,3})\b",
    re.I,
)
_NEGATIVE_AGE = re.compile(r"(?<![\w-])-\s*(\d{1,3})\s*-?\s*(?:years?|yrs?|años|año)\b", re.I)
_MONTHS = re.compile(r"(?<![\d-])(\d{1,3})\s*-?\s*(?:months?|meses|mes)\b", re.I)
_MALE = re.compile(r"\b(boy|male|man|son|niño|nino|varón|varon|chico|masculino|hombre)\b", re.I)
_FEMALE = re.compile(r"\b(girl|female|woman|daughter|niña|nina|chica|femenino|mujer)\b", re.I)
_BLOCK_WORDS: dict[Block, re.Pattern[str]] = {
    "chemotherapy": re.compile(r"chemo|quimio", re.I),
    "radiotherapy": re.compile(
        r"radiotherap|radioterap|irradia|radiaci|\bradiation\b|radiochemo|radioquimio|"
        r"brachytherap|braquiterap|proton\s*therapy|protonterapia|(?-i:\b(?:TBI|ICT)\b)",
        re.I,
    ),
    "surgery": re.compile(
        r"surg|cirug|quir[uú]rg|resect|resecc|(?<!\w)opera[tdc]|amputa|ectom[iyí]", re.I
    ),
    "hsct": re.compile(
        r"transplant|trasplant|stem[\s-]*cell|progenitores\s+hematopoy|autologous|allogeneic|"
        r"aut[oó]log|alog[eé]nic|(?-i:\b(?:HSCT|SCT|TPH|TMO|BMT)\b)",
        re.I,
    ),
    "others": re.compile(
        r"(?<!\w)(?:others|otros|otras)(?!\w)|cat[eé]ter|catheter|reservorio|fertility|"
        r"fertilidad|transfus|intoxica|poisoning",
        re.I,
    ),
}
_ALL_BLOCKS = re.compile(
    r"\b(?:all|every)\s+(?:the\s+)?(?:treatments|blocks|therapies)\b|"
    r"\btodos\s+los\s+(?:tratamientos|bloques)\b",
    re.I,
)
_RELAPSE = re.compile(r"relaps|reca[ií]d|recidiv|recurren", re.I)
_SECOND = re.compile(
    r"\b(?:second|2nd)\s+(?:primary\s+|malignant\s+)?(?:tumou?rs?|malignancy|cancer|neoplasm)|"
    r"\bsegund[oa]\s+(?:tumor|tumour|c[aá]ncer|neoplasia)\b",
    re.I,
)
_SECOND_LEAD = re.compile(r"[\s:(,–—-]*(?:(?:of|de|an?|una?|with|con)\s+)?", re.I)
_CLAUSE_END = re.compile(r"[.;\n)]")
_ONLY_BEFORE = re.compile(
    r"\b(?:only|just|solo|sólo|solamente|únicamente|unicamente|exclusivamente|exclusively)"
    r"(?:\s+(?:with|con|received|recibió|recibio|a|la))*\s*$",
    re.I,
)
_ONLY_AFTER = re.compile(r"^\s*(?:only|alone|sola|solo|solamente|únicamente)\b", re.I)
_NEGATION = re.compile(r"\b(without|no|not|never|nor|sin|ni|nunca)\b", re.I)
_FILLERS = {
    "a", "an", "any", "the", "prior", "previous", "received", "having", "had", "or", "and",
    "nor", "o", "u", "y", "e", "ni", "un", "una", "ningún", "ninguna", "haber", "recibido",
    "de", "la", "el", "with", "con", "sign", "signs", "evidence", "of",
}  # fmt: skip
_CONNECTORS = {"", "and", "y", "e", "or", "o", "u", "plus", "&", "+", "with", "con", "then"}
_NOT_METASTATIC = re.compile(
    r"\b(non-?metastatic|locali[sz]ed|without metastas[ie]s|no metastas[ie]s|localizad[oa]|"
    r"sin metástasis|sin metastasis)\b",
    re.I,
)
_METASTATIC = re.compile(
    r"\b(metastatic|metastas[ie]s|metastásic[oa]|metástasis|metastasis)\b", re.I
)
_SPANISH = re.compile(r"\b(años|niño|niña|con|quimioterapia|radioterapia|y|de|el|la)\b", re.I)
_TUMOUR_WORD = re.compile(r"\b\w{3,}omas?\b|\b\w*leu[ck]\w*mia\b", re.I)
_NOT_TUMOURS = {
    "coma", "diploma", "aroma", "idioma", "idiomas", "síntoma", "síntomas", "sintoma",
    "sintomas", "paloma", "roma", "goma", "broma", "axioma", "cromosoma", "cromosomas",
    "genoma", "stroma", "estroma", "hematoma", "haematoma", "glaucoma",
}  # fmt: skip
_CODE = re.compile(r"^\d{4}/\d$")


class RequestError(ValueError):
    """A request that cannot be generated as asked; the message says what is wrong."""


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
    overrides: tuple[str, ...] = ()  # where an explicit field replaced what the prompt said


class RequestFields(BaseModel):
    """A generation request as a client sends it: structured fields, a free-text prompt, or
    both. The prompt is read into the same fields; a field given explicitly wins."""

    model_config = ConfigDict(extra="forbid")

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
    language: Literal["en", "es"] | None = Field(
        None,
        description="Language of the record's text; invented names and identifiers come "
        "from its locale. Default: the prompt's language, else en",
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
        if problem := _age_problem(age):
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

    @field_validator("blocks", mode="before")
    @classmethod
    def _block_aliases(cls, value: Any) -> Any:
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
                        "unknown treatment block '{block}': use chemotherapy, radiotherapy, "
                        "surgery, hsct or others",
                        {"block": item},
                    )
                item = _BLOCK_ALIASES[key]
            if item not in blocks:
                blocks.append(item)
        return blocks

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


def validation_message(exc: ValidationError) -> str:
    """One line: ``field: problem; field: problem``."""
    return "; ".join(
        NOTHING_TO_GENERATE
        if e["loc"] == ("prompt",) and e["type"] == "missing"
        else ".".join(str(part) for part in e["loc"]) + f": {e['msg']}"
        for e in exc.errors()
    )


def build_request(fields: RequestFields) -> ParsedRequest:
    """Read the prompt, overlay the explicit fields, and check the result makes sense."""
    text = (fields.prompt or "").strip()
    if not fields.describes_patient():
        if fields.prompt is not None:
            raise RequestError("the prompt is empty: describe the patient to generate")
        raise RequestError(NOTHING_TO_GENERATE)
    given = {name for name in DESCRIBING if getattr(fields, name) is not None}
    read = _read_prompt(text, explicit=given) if text else _Reading()
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
        overrides=tuple(notes),
    )


def locale_for(language: str, configured: str) -> str:
    """The Faker locale for a record in ``language``: the configured one when it speaks
    that language (es_MX for es), else the language's default (es_ES, en_GB)."""
    if configured.split("_")[0].lower() == language:
        return configured
    return LOCALES.get(language, configured)


# -- reading the prompt ----------------------------------------------------------------


@dataclass
class _Reading:
    """What the prompt says; None where it says nothing."""

    age: int | None = None
    sex: Sex | None = None
    morphology: Term | None = None
    blocks: frozenset[str] | None = None
    relapse: bool | None = None
    second_tumour: Term | None = None
    metastatic: bool | None = None
    language: str | None = None


@dataclass(frozen=True)
class _Mention:
    block: str
    start: int
    end: int
    negated: bool
    words: str = field(compare=False)


def _read_prompt(text: str, *, explicit: set[str]) -> _Reading:
    """Errors about something an explicit field replaces are not raised: the field wins."""
    read = _Reading(metastatic=_metastatic(text))
    read.language = "es" if len(_SPANISH.findall(text)) >= 2 else "en"
    try:
        read.age = _age(text)
    except RequestError:
        if "age" not in explicit:
            raise
    if _MALE.search(text) and not _FEMALE.search(text):
        read.sex = "male"
    elif _FEMALE.search(text) and not _MALE.search(text):
        read.sex = "female"
    primary = text
    if marker := _SECOND.search(text):
        span, read.second_tumour = _second_tumour(
            text, marker, check="second_tumour" not in explicit
        )
        primary = text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]
    read.morphology = _tumour_in(primary, check="diagnosis" not in explicit)
    read.blocks = _blocks(text, check="blocks" not in explicit)
    if relapses := list(_RELAPSE.finditer(text)):
        read.relapse = not all(_negated(text, m.start()) for m in relapses)
    return read


def _age(text: str) -> int | None:
    if negative := _NEGATIVE_AGE.search(text):
        raise RequestError(f"age {_age_problem(-int(negative.group(1)))}")
    if match := _AGE.search(text):
        age = int(next(g for g in match.groups() if g is not None))
    elif months := _MONTHS.search(text):
        age = int(months.group(1)) // 12
    else:
        return None
    if problem := _age_problem(age):
        raise RequestError(f"age {problem}")
    return age


def _age_problem(age: int) -> str:
    if age < 0:
        return f"{age} is negative: give the age at diagnosis in whole years, 0 to {MAX_AGE}"
    if age > MAX_AGE:
        return (
            f"{age} is outside paediatric and young-adult oncology (0-{MAX_AGE}): "
            f"give an age from 0 to {MAX_AGE}"
        )
    return ""


def _metastatic(text: str) -> bool | None:
    if _NOT_METASTATIC.search(text):
        return False
    return True if _METASTATIC.search(text) else None


def _negated(text: str, start: int) -> bool:
    """Whether a negation ("without", "no", "sin"...) governs the words at ``start``, with
    only fillers or treatment words between ("without chemotherapy or radiotherapy")."""
    clause = re.split(r"[,;.:\n(]", text[:start])[-1]
    negations = list(_NEGATION.finditer(clause))
    if not negations:
        return False
    between = clause[negations[-1].end() :].split()
    return all(
        w.lower() in _FILLERS or any(p.search(w) for p in _BLOCK_WORDS.values()) for w in between
    )


def _mentions(text: str) -> list[_Mention]:
    found = []
    for block, pattern in _BLOCK_WORDS.items():
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            while start > 0 and text[start - 1].isalnum():
                start -= 1
            while end < len(text) and (text[end].isalnum() or text[end] == "-"):
                end += 1
            found.append(_Mention(block, start, end, _negated(text, start), text[start:end]))
    return sorted(set(found), key=lambda m: (m.start, m.block))


def _blocks(text: str, *, check: bool) -> frozenset[str] | None:
    """The blocks the prompt names (None: none); "only X" with another block is an error."""
    mentions = _mentions(text)
    positive = [m for m in mentions if not m.negated]
    named = {m.block for m in positive} | (set(BLOCKS) if _ALL_BLOCKS.search(text) else set())
    negated = {m.block for m in mentions if m.negated} - named
    if check:
        _check_only(text, positive)
    if named:
        return frozenset(named)
    return DEFAULT_BLOCKS - negated if negated else None


def _check_only(text: str, positive: list[_Mention]) -> None:
    runs: list[list[_Mention]] = []
    for mention in positive:  # runs: mentions joined by "and", ",", "y"... or one word
        if runs:
            gap = text[runs[-1][-1].end : mention.start].replace(",", " ").split()
            if mention.start < runs[-1][-1].end or all(w.lower() in _CONNECTORS for w in gap):
                runs[-1].append(mention)
                continue
        runs.append([mention])
    for run in runs:
        before, after = text[: run[0].start], text[run[-1].end :]
        if _ONLY_BEFORE.search(before) or _ONLY_AFTER.search(after):
            only = {m.block for m in run}
            if other := next((m for m in positive if m.block not in only), None):
                asked = " and ".join(m.words for m in run)
                raise RequestError(
                    f"the prompt asks for only {asked} but also names {other.words!r} "
                    f"({other.block}): remove 'only' or the other treatment"
                )


def _second_tumour(text: str, marker: re.Match[str], *, check: bool) -> tuple[Any, Term | None]:
    """The second tumour the prompt names after "second tumour"/"segundo tumor", and the
    span to hide from the first tumour's search."""
    if _negated(text, marker.start()):
        return (marker.start(), marker.end()), None
    lead = _SECOND_LEAD.match(text, marker.end())
    start = lead.end() if lead else marker.end()
    end = m.start() if (m := _CLAUSE_END.search(text, start)) else len(text)
    clause = text[start:end]
    found = _tumours(clause)
    if found:
        term, _, match_end = min(found, key=lambda f: (f[1], f[1] - f[2]))
        return (marker.start(), start + match_end), term
    if not check:
        return (marker.start(), end), None
    phrase = re.split(r",|\band\b|\by\b|\bwith\b|\bcon\b", clause)[0].strip()
    if not phrase:
        raise RequestError(
            "the prompt asks for a second tumour but does not name it: write "
            "'second tumour: <name>' (e.g. second tumour: Hodgkin lymphoma) or give second_tumour"
        )
    raise _unknown("second tumour", phrase)


def _tumour_in(text: str, *, check: bool) -> Term | None:
    """The tumour the text names, longest name first ("nodular sclerosis" over "hodgkin");
    a tumour-like word that is in no vocabulary is an error with close matches."""
    if found := _tumours(text):
        return max(found, key=lambda f: f[2] - f[1])[0]
    if check:
        for word in _TUMOUR_WORD.finditer(text):
            if word.group().lower() not in _NOT_TUMOURS:
                raise _unknown("tumour in the prompt", text, (word.start(), word.end()))
    return None


# -- the tumour vocabulary --------------------------------------------------------------


def resolve_tumour(value: str, name: str) -> Term:
    """The morphology a field names: an ICD-O-3 code, a name or alias, or a text naming
    one; otherwise a RequestError with close matches."""
    text = value.strip()
    if _CODE.match(text):
        if term := next((t for t in morphologies() if t.code == text), None):
            return term
        raise RequestError(
            f"{name}: ICD-O-3 morphology {text} is not in the vocabulary; "
            "give a tumour name in English or Spanish instead"
        )
    if term := _by_name().get(_key(text)):
        return term
    if found := _tumours(text):
        return max(found, key=lambda f: f[2] - f[1])[0]
    raise _unknown(name, text)


def _key(name: str) -> str:
    return " ".join(_dehyphen(name).lower().split())


def _dehyphen(text: str) -> str:
    """Hyphens between letters as spaces ("nodular-sclerosis"); positions are unchanged."""
    return re.sub(r"(?<=\w)[-‐–](?=\w)", " ", text)


def _variants(name: str) -> list[str]:
    """A vocabulary name as people write it: hyphens as spaces, without ", nos", each half
    of "leukaemia/lymphoma", in British and American spelling."""
    base = _key(name).removesuffix(", nos")
    forms = [_key(name), base]
    if match := re.match(r"(.*?)(\w+)/(\w+)(.*)", base):
        head, left, right, tail = match.groups()
        forms += [f"{head}{left}{tail}", f"{head}{right}{tail}"]
    forms += [f.replace("leukaemia", "leukemia") for f in forms]
    return list(dict.fromkeys(forms))


@cache
def _by_name() -> dict[str, Term]:
    names: dict[str, Term] = {}
    for term in morphologies():
        for name in term.names:
            for form in _variants(name):
                names.setdefault(form, term)
    return names


@cache
def _searchable() -> tuple[Term, ...]:
    """The morphologies with every name's variants, to match "nodular-sclerosis Hodgkin
    lymphoma" or "B-lymphoblastic leukaemia" in free text."""
    return tuple(
        Term(t.code, t.term, tuple(dict.fromkeys(f for n in t.names for f in _variants(n))))
        for t in morphologies()
    )


def _tumours(text: str) -> list[tuple[Term, int, int]]:
    """Every tumour name in ``text``: (the vocabulary's term, start, end)."""
    by_code = {t.code: t for t in morphologies()}
    return [
        (by_code[term.code], match.start(), match.end())
        for term, match in find_terms(_dehyphen(text), _searchable())
    ]


def _unknown(what: str, text: str, around: tuple[int, int] | None = None) -> RequestError:
    """An unknown tumour with up to three close vocabulary names: names similar to a phrase
    of ``text`` of up to five words (around a tumour-like word when given), or containing
    it ("leukemia")."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[\w/+']+", _dehyphen(text))]
    phrases = set()
    for i, (start, _) in enumerate(words):
        for j in range(i, min(i + 5, len(words))):
            end = words[j][1]
            phrase = _key(text[start:end])
            edges = {phrase.split()[0], phrase.split()[-1]} if j > i else set()
            if edges & _FILLERS:
                continue  # "with leukemia": a phrase starts and ends with a content word
            if around is None or (start <= around[0] and end >= around[1] and j - i < 4):
                phrases.add(phrase)
    scored: dict[str, tuple[float, str, str]] = {}
    for name, term in _by_name().items():
        matcher = SequenceMatcher(None, b=name)
        for phrase in phrases:
            contained = len(phrase) >= 5 and f" {phrase} " in f" {name} "
            matcher.set_seq1(phrase)
            if not contained and matcher.real_quick_ratio() < CLOSE:
                continue
            ratio = matcher.ratio()
            if (contained or ratio >= CLOSE) and ratio > scored.get(term.code, (0.0,))[0]:
                scored[term.code] = (ratio, name, phrase)
    best = sorted(scored.items(), key=lambda item: -item[1][0])[:3]
    shown = text[around[0] : around[1]] if around else text
    if best and best[0][1][0] >= CLOSE and around:
        shown = best[0][1][2]  # the phrase that looks like a known name
    hint = "use a tumour name in English or Spanish, or an ICD-O-3 morphology code such as 9180/3"
    if not best:
        return RequestError(
            f"unknown {what} {shown!r}: no similar tumour in the ICD-O-3 vocabulary; {hint}"
        )
    close = " or ".join(f"{name} ({code})" for code, (_, name, _) in best)
    return RequestError(f"unknown {what} {shown!r}: did you mean {close}? Otherwise {hint}")


def _show(value: Any) -> str:
    if isinstance(value, Term):
        return f"{value.term} ({value.code})"
    if isinstance(value, frozenset):
        return ", ".join(b for b in BLOCKS if b in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
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
    if fields.language is not None:
        parts.append(f"language {fields.language}")
    return "; ".join(parts)
