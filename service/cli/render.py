"""A patient record as readable text, each clinical item followed by its citations."""

from __future__ import annotations

from service.records import ChemotherapyAdministration, Citation, PatientRecord


def _citations(citations: list[Citation], indent: str = "      ") -> list[str]:
    return [f'{indent}[{c.document}, p. {c.page}] "{c.quote}"' for c in citations]


def render_record(record: PatientRecord) -> str:
    d, dx = record.demographics, record.diagnosis
    lines = [
        f"Patient {record.record_id}",
        f"  {d.given_name} {d.first_surname} {d.second_surname} ({d.sex}), born {d.birth_date}",
        f"  Health card {d.health_card_number} · MRN {d.medical_record_number} · "
        f"{d.phone} · {d.email} ({d.email_owner})",
        f"  Summary: {record.summary}",
        "  Diagnosis:",
        f"    {dx.tumour} (ICD-O-3 {dx.icdo3_morphology}), site: {dx.site}"
        + (f" ({dx.icdo3_topography})" if dx.icdo3_topography else "")
        + f", diagnosed {dx.diagnosis_date} at age {dx.age_at_diagnosis}",
        "    metastatic: "
        + ("yes (" + ", ".join(dx.metastasis_sites) + ")" if dx.metastatic else "no"),
        *_citations(dx.citations),
    ]
    if record.chemotherapy:
        lines.append("  Chemotherapy:")
        regimens: dict[tuple[str, float, str], list[ChemotherapyAdministration]] = {}
        for c in record.chemotherapy:
            regimens.setdefault((c.drug, c.dose, c.unit), []).append(c)
        for (drug, dose, unit), given in regimens.items():
            dates = ", ".join(str(c.date) for c in given)
            lines.append(f"    {drug} {dose:g} {unit} x {len(given)} cycle(s): {dates}")
            lines.extend(_citations(given[0].citations))
    if record.radiotherapy:
        lines.append("  Radiotherapy:")
        for r in record.radiotherapy:
            lines.append(f"    from {r.start_date}: {r.site}, {r.given()}")
            lines.extend(_citations(r.citations))
    p = record.provenance
    lines.append(
        f"  Provenance: {p.backend} {p.model} (sha256 {str(p.model_sha256)[:12]}), seed {p.seed}, "
        f"prompts {', '.join(f'{x.id} v{x.version}' for x in p.prompts)}, "
        f"{len(p.chunks)} passages, {p.prompt_tokens}+{p.completion_tokens} tokens"
        + (f", {p.model_seconds:.1f} s in the model" if p.model_seconds is not None else "")
    )
    return "\n".join(lines)
