"""``clinsynth eval``: a fixed set of requests through the whole agent, measured.

For each request of the set (``service/evaluation/requests.toml``, or a file in the same
format) the record is generated with the request's seed, validated, repaired by the
bounded repair loop, and measured:

- schema validity: the generator returned a ``PatientRecord`` (a ``GenerationError`` or
  ``RequestError`` counts as invalid and keeps its message);
- rule pass rate before and after repair: records with no error-severity failure;
- citations: every drug/dose item (chemotherapy, intrathecal, relapse and second-tumour
  chemotherapy), radiotherapy, surgery and transplant item must pass the independent
  grounding verifier (``service.validation.grounding``): its quotes stand on the stored
  text of the cited pages and name the drug with its dose, the site with its Gy, the
  procedure or the transplant type;
- every requested block: the record holds each block, the diagnosis, age, sex, relapse
  and second tumour its parsed request asked for (the ``request.honoured`` rule's reading);
  a refused request counts as missing them;
- distinct records: clinical content compared with identity, narrative, demographics,
  provenance and citations left out (the batch report's exact-duplicate test);
- seconds and tokens per record.

With a baseline model (``models.random_choice.RandomChoiceModel``: every constrained
choice drawn at random from the same evidence) the same requests run again and the report
carries both, so what the model contributes is measured, not assumed.
"""

from __future__ import annotations

import json
import statistics
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, ValidationError

from knowledge.chunks import GuidelineChunk
from service.generation.generator import GenerationError
from service.generation.repair import RepairLoop
from service.quality.overlap import clinical_content
from service.records import ClinicalItem, PatientRecord
from service.requests import RequestError, RequestFields, build_request, validation_message
from service.validation.clinical import missing_from
from service.validation.codes import Vocabulary
from service.validation.grounding import verify_grounding

DEFAULT_REQUESTS = Path(__file__).with_name("requests.toml")


class ChunkSource(Protocol):
    """Stored chunks and page texts (``service.validation.grounding.ChunkLookup``)."""

    def get(self, chunk_ids: Sequence[str]) -> list[GuidelineChunk]: ...

    def page_text(self, document_id: str, page: int) -> str | None: ...


class EvalRequest(BaseModel):
    id: str
    fields: RequestFields
    seed: int


class EvalItem(BaseModel):
    id: str
    schema_valid: bool
    error: str | None = None
    record_id: str | None = None
    passed_before: bool = False
    passed_after: bool = False
    failed_rules: list[str] = Field(default_factory=list, description="After repair")
    missing: list[str] = Field(
        default_factory=list, description="What the parsed request asked for and the record lacks"
    )
    repair_rounds: int = 0
    cited_items: int = 0
    verified_items: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class EvalReport(BaseModel):
    requests_file: str
    model: str
    backend: str
    requests: int
    schema_valid: int
    every_block: float = Field(
        0.0, description="Share of all requests whose record holds everything asked for"
    )
    rule_pass_before: float = Field(description="Share of schema-valid records, first attempt")
    rule_pass_after: float = Field(description="Share of schema-valid records after repair")
    cited_items: int
    verified_items: int
    verified_share: float
    distinct_records: int
    seconds_per_record: float | None
    prompt_tokens_per_record: float | None
    completion_tokens_per_record: float | None
    items: list[EvalItem]
    baseline: EvalReport | None = Field(
        None, description="The same requests with every choice drawn at random"
    )


def load_requests(path: Path = DEFAULT_REQUESTS) -> list[EvalRequest]:
    """The request set; a malformed file or entry is a ValueError naming it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from exc
    entries = data.get("request")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path} has no [[request]] entries")
    requests: list[EvalRequest] = []
    for number, entry in enumerate(entries, start=1):
        entry = dict(entry)
        name = str(entry.pop("id", f"request {number}"))
        seed = entry.pop("seed", number)
        try:
            requests.append(EvalRequest(id=name, fields=RequestFields(**entry), seed=seed))
        except ValidationError as exc:
            raise ValueError(f"{path}, [[request]] {name!r}: {validation_message(exc)}") from exc
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError(
            f"{path}: request ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    return requests


def cited_items(record: PatientRecord) -> list[ClinicalItem]:
    """The items whose grounding eval counts: every drug and dose, every radiotherapy
    course, every surgery and transplant."""
    items: list[ClinicalItem] = [*record.chemotherapy, *record.radiotherapy]
    if record.intrathecal:
        items.append(record.intrathecal)
    items += [*record.surgery, *record.hsct]
    if record.relapse:
        items += [*record.relapse.second_line, *record.relapse.second_line_radiotherapy]
    if record.second_tumour:
        second = record.second_tumour
        items += [*second.chemotherapy, *second.radiotherapy, *second.surgery]
    return items


def verified_items(record: PatientRecord, chunks: ChunkSource, vocabulary: Vocabulary) -> int:
    """How many of ``cited_items`` the independent grounding verifier verifies."""
    report = verify_grounding(record, chunks, vocabulary)
    return sum(report.verifies(item) for item in cited_items(record))


def content_key(record: PatientRecord) -> str:
    """The record's clinical content: what makes two records the same patient story (the
    batch report's exact-duplicate test compares the same content)."""
    return json.dumps(clinical_content(record), sort_keys=True)


def run_eval(
    requests: Sequence[EvalRequest],
    loop: RepairLoop,
    chunks: ChunkSource,
    *,
    requests_file: str,
    progress: Callable[[EvalItem], None] = lambda item: None,
) -> EvalReport:
    items: list[EvalItem] = []
    contents: set[str] = set()
    vocabulary = Vocabulary.bundled()
    for request in requests:
        item = EvalItem(id=request.id, schema_valid=False)
        try:
            parsed = build_request(request.fields)
            repaired = loop.generate(parsed, seed=request.seed)
        except (RequestError, GenerationError) as exc:
            item.error = f"{type(exc).__name__}: {exc}"
        else:
            record = repaired.made.record
            checked = cited_items(record)
            contents.add(content_key(record))
            item = EvalItem(
                id=request.id,
                schema_valid=True,
                record_id=record.record_id,
                passed_before=repaired.first.passed,
                passed_after=repaired.final.passed,
                failed_rules=[f.rule_id for f in repaired.final.failures],
                missing=[f"{what}: {detail}" for what, detail in missing_from(record)],
                repair_rounds=repaired.rounds,
                cited_items=len(checked),
                verified_items=verified_items(record, chunks, vocabulary),
                seconds=round(repaired.seconds, 3),
                prompt_tokens=record.provenance.prompt_tokens,
                completion_tokens=record.provenance.completion_tokens,
            )
        items.append(item)
        progress(item)
    return summarise(items, contents, loop, requests_file)


def summarise(
    items: list[EvalItem], contents: set[str], loop: RepairLoop, requests_file: str
) -> EvalReport:
    valid = [i for i in items if i.schema_valid]

    def share(count: int) -> float:
        return round(count / len(valid), 4) if valid else 0.0

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 3) if values else None

    cited = sum(i.cited_items for i in valid)
    good = sum(i.verified_items for i in valid)
    model = loop.generator.model
    return EvalReport(
        requests_file=requests_file,
        model=model.name,
        backend=model.backend,
        requests=len(items),
        schema_valid=len(valid),
        every_block=round(sum(not i.missing for i in valid) / len(items), 4) if items else 0.0,
        rule_pass_before=share(sum(i.passed_before for i in valid)),
        rule_pass_after=share(sum(i.passed_after for i in valid)),
        cited_items=cited,
        verified_items=good,
        verified_share=round(good / cited, 4) if cited else 0.0,
        distinct_records=len(contents),
        seconds_per_record=mean([i.seconds for i in valid]),
        prompt_tokens_per_record=mean([i.prompt_tokens for i in valid]),
        completion_tokens_per_record=mean([i.completion_tokens for i in valid]),
        items=items,
    )


def render_summary(report: EvalReport) -> str:
    """The readable summary printed by ``clinsynth eval``: the figures, the baseline's beside
    them, then one line per request."""
    n = report.requests
    base = report.baseline

    def versus(figure: str) -> str:
        return f"   (random choice: {figure})" if base is not None else ""

    lines = [
        f"clinsynth eval: {n} requests from {report.requests_file}",
        f"model {report.model} ({report.backend})",
        f"schema-valid records      {report.schema_valid}/{n} ({report.schema_valid / n:.0%})"
        + versus(f"{base.schema_valid}/{n}" if base else ""),
        f"every requested block     {report.every_block:.0%} of requests"
        + versus(f"{base.every_block:.0%}" if base else ""),
        f"pass every rule, before   {report.rule_pass_before:.0%}"
        + versus(f"{base.rule_pass_before:.0%}" if base else ""),
        f"pass every rule, after    {report.rule_pass_after:.0%} (bounded repair)"
        + versus(f"{base.rule_pass_after:.0%}" if base else ""),
        f"items verified            {report.verified_items}/{report.cited_items} drug, dose, RT, "
        f"surgery and transplant items by the independent verifier ({report.verified_share:.0%})"
        + versus(f"{base.verified_share:.0%}" if base else ""),
        f"distinct records          {report.distinct_records}/{report.schema_valid}"
        + versus(f"{base.distinct_records}/{base.schema_valid}" if base else ""),
    ]
    if report.seconds_per_record is not None:
        lines.append(
            f"per record                {report.seconds_per_record:.1f} s, "
            f"{report.prompt_tokens_per_record:.0f} prompt + "
            f"{report.completion_tokens_per_record:.0f} completion tokens"
        )
    baseline_items = {i.id: i for i in base.items} if base is not None else {}
    lines.append("per request (model" + (" | random choice" if base else "") + "):")
    width = max((len(i.id) for i in report.items), default=0)
    for item in report.items:
        line = f"  {item.id:<{width}}  {_outcome(item)}"
        if item.id in baseline_items:
            line += f"  |  {_outcome(baseline_items[item.id], brief=True)}"
        lines.append(line)
    return "\n".join(lines)


def _outcome(item: EvalItem, *, brief: bool = False) -> str:
    if item.error:
        return "refused" if brief else f"INVALID {item.error}"
    verdict = "pass" if item.passed_after else "fails " + ", ".join(item.failed_rules)
    if item.missing:
        verdict += "; missing " + ("; ".join(item.missing) if not brief else str(len(item.missing)))
    return f"{verdict}; verified {item.verified_items}/{item.cited_items}; {item.seconds:.0f} s"


def report_json(report: EvalReport) -> dict[str, Any]:
    return report.model_dump(mode="json")
