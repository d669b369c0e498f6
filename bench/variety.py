"""Variety within a batch: the regimens, risk groups, sites and ages at diagnosis of N records
of one request, against the first-line regimens the corpus offers that tumour at those ages.

Ingests the bundled corpus into a temporary store, generates N records with the embedded
model (seeds seed..seed+N-1), and prints: each distinct first-line regimen used (a regimen
is the passage its doses cite) with how many records use it, the regimens the tumour's own
guideline offers for the records' tumours and ages (read from every chunk of the documents
the records cite, filtered as generation filters them: tumour, subtype and age band, not
relapse), the batch report's coverage figures and its exact and near duplicate groups.
Prints figures; asserts nothing.

    .venv/bin/python bench/variety.py --records 20 \\
        --prompt "Niña de 14 años con linfoma de Hodgkin, quimioterapia y radioterapia"
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

# Run as a script, bench/ comes first on sys.path, where bench/ingest.py would shadow the
# ingest package: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from service.offline import enforce_offline  # noqa: E402

enforce_offline()

from ingest.pipeline import ingest_paths  # noqa: E402
from knowledge.applicability import regimen_scope  # noqa: E402
from knowledge.evidence import build_evidence_sheet  # noqa: E402
from service.components import (  # noqa: E402
    build_generator,
    build_knowledge_store,
    build_language_model,
)
from service.generation.blocks.chemotherapy import first_line  # noqa: E402
from service.quality.diversity import coverage  # noqa: E402
from service.quality.overlap import find_duplicates  # noqa: E402
from service.settings import Settings  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "knowledge" / "corpus" / "pdf"
PROMPT = "Niña de 14 años con linfoma de Hodgkin, quimioterapia y radioterapia"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--prompt", default=PROMPT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), reference_date=date(2026, 6, 1))
        store = build_knowledge_store(settings)
        ingest_paths([CORPUS], store)
        generator = build_generator(settings, store, build_language_model(settings))
        made = generator.generate(args.prompt, seed=args.seed, count=args.records)
        records = [m.record for m in made]
        used: Counter[str] = Counter()
        for record in records:
            first = [
                a
                for a in record.chemotherapy
                if a.date < (record.hsct[0].date if record.hsct else date.max)
            ]
            used.update({a.citations[0].quote for a in first})
        documents = {c.document for r in records for a in r.chemotherapy for c in a.citations}
        chunks = [
            c
            for d in sorted(documents)
            for c in store.query("chemotherapy regimen doses", k=400, where={"document": d})
        ]
        sheet = build_evidence_sheet(chunks)
        patients = {(r.diagnosis.icdo3_morphology, r.diagnosis.age_at_diagnosis) for r in records}
        offered = {
            r.quote
            for r in first_line(sheet.regimens())
            if any(
                regimen_scope(r.quote, sheet.chunk(r.chunk_id)).fits(code, age)
                for code, age in patients
            )
        }
        report = coverage(records)
        duplicates = find_duplicates(records, [], embedded=False)
    print(f"request:                 {args.prompt}")
    last = args.seed + len(records) - 1
    print(f"records:                 {len(records)} (seeds {args.seed}-{last})")
    print(f"tumours:                 {dict(report.tumours)}")
    print(f"risk groups:             {dict(report.risk_groups)}")
    print(f"sites:                   {dict(report.sites)}")
    print(f"ages at diagnosis:       {dict(sorted(report.ages_at_diagnosis.items()))}")
    print(f"first-line drug sets:    {len(report.regimens)}")
    print(
        f"regimens used:           {len(used)} of {len(offered)} offered for these tumours and ages"
    )
    for quote, n in used.most_common():
        mark = "" if quote in offered else "  [not among those offered]"
        print(f"  {n:3d}  {quote[:110]}{mark}")
    unused = sorted(offered - set(used))
    for quote in unused:
        print(f"  not used: {quote[:110]}")
    print(f"exact duplicate groups:  {len(duplicates.exact)}")
    print(f"near duplicate groups:   {len(duplicates.near)}")


if __name__ == "__main__":
    main()
