"""The printable Survivorship Passport: one record as a PDF, in Spanish or English.

Sections follow the passport (personal data, diagnosis, first-line treatment with cumulative
doses, radiotherapy, surgery, transplant, other information, relapse, second tumour); every
page carries "SYNTHETIC PATIENT - NOT A REAL PERSON"; each cited item gets a number, and the
citations are printed as numbered notes at the foot of its section. Cumulative doses are the
per-drug sums of the record's administrations, per m² as in the FHIR passport
(``service.exports.pcsp_treatments``). Rendered offline with fpdf2 and the Roboto TrueType
font from the ``font-roboto`` package (Apache-2.0), embedded so accents survive.
"""

from __future__ import annotations

from collections.abc import Iterable

from fpdf import FPDF

from service.body_measures import body_measures
from service.exports.pcsp_treatments import cumulative_dose, cumulative_groups
from service.records import ChemotherapyAdministration, Citation, Diagnosis, PatientRecord

MARK = "SYNTHETIC PATIENT - NOT A REAL PERSON"
_LABELS = {
    "es": {
        "title": "Pasaporte del Superviviente", "personal": "Datos personales",
        "name": "Nombre", "born": "Fecha de nacimiento", "sex": "Sexo",
        "female": "mujer", "male": "hombre", "card": "Tarjeta sanitaria", "mrn": "Historia clínica",
        "measures": "Peso y talla al diagnóstico", "diagnosis": "Diagnóstico",
        "tumour": "Tumor", "site": "Localización", "date": "Fecha", "metastases": "Metástasis",
        "predisposition": "Predisposición", "flt": "Tratamiento de primera línea",
        "chemo": "Quimioterapia", "cumulative": "Dosis acumuladas",
        "rt": "Radioterapia", "surgery": "Cirugía", "hsct": "Trasplante de progenitores",
        "others": "Otra información", "relapse": "Recaída", "second": "Segundo tumor",
        "none": "No consta", "notes": "Fuentes", "page": "Página", "boost": "sobreimpresión",
        "fractions": "fracciones", "intrathecal": "Quimioterapia intratecal",
        "cycle": "ciclo", "cvc": "Catéter venoso central",
        "fertility": "Preservación de la fertilidad",
        "transfusions": "Transfusiones", "yes": "sí", "no": "no", "more10": "más de 10",
        "intoxication": "Intoxicación", "risk": "Grupo de riesgo",
        "low": "bajo", "standard": "estándar", "intermediate": "intermedio", "high": "alto",
    },
    "en": {
        "title": "Survivorship Passport", "personal": "Personal data",
        "name": "Name", "born": "Date of birth", "sex": "Sex",
        "female": "female", "male": "male", "card": "Health card", "mrn": "Medical record",
        "measures": "Weight and height at diagnosis", "diagnosis": "Diagnosis",
        "tumour": "Tumour", "site": "Site", "date": "Date", "metastases": "Metastases",
        "predisposition": "Predisposition", "flt": "First-line treatment",
        "chemo": "Chemotherapy", "cumulative": "Cumulative doses",
        "rt": "Radiotherapy", "surgery": "Surgery", "hsct": "Stem cell transplant",
        "others": "Other information", "relapse": "Relapse", "second": "Second tumour",
        "none": "None recorded", "notes": "Sources", "page": "Page", "boost": "boost",
        "fractions": "fractions", "intrathecal": "Intrathecal chemotherapy",
        "cycle": "cycle", "cvc": "Central venous catheter", "fertility": "Fertility preservation",
        "transfusions": "Transfusions", "yes": "yes", "no": "no", "more10": "more than 10",
        "intoxication": "Intoxication", "risk": "Risk group",
        "low": "low", "standard": "standard", "intermediate": "intermediate", "high": "high",
    },
}  # fmt: skip


class _Passport(FPDF):
    def __init__(self, labels: dict[str, str]):
        super().__init__(format="A4")
        import font_roboto

        self.add_font("Roboto", "", font_roboto.Roboto)
        self.add_font("Roboto", "B", font_roboto.RobotoBold)
        self.labels = labels
        self.notes: list[Citation] = []
        self.printed = 0  # notes already printed as footnotes
        self.set_auto_page_break(auto=True, margin=18)

    def header(self) -> None:
        self.set_font("Roboto", "B", 9)
        self.set_text_color(180, 0, 0)
        self.cell(0, 6, MARK, align="C", new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Roboto", "", 8)
        self.cell(0, 6, f"{MARK} · {self.labels['page']} {self.page_no()}", align="C")

    def heading(self, text: str) -> None:
        self.ln(2)
        self.set_font("Roboto", "B", 12)
        self.cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Roboto", "", 10)

    def item(self, text: str, citations: Iterable[Citation] = ()) -> None:
        marks = ""
        for c in citations:
            self.notes.append(c)
            marks += f" [{len(self.notes)}]"
        self.multi_cell(0, 5, text + marks, new_x="LMARGIN", new_y="NEXT")

    def footnotes(self) -> None:
        """The citations numbered since the last call, at the foot of the section."""
        if len(self.notes) == self.printed:
            return
        self.set_font("Roboto", "", 7)
        start = self.printed
        for n, c in enumerate(self.notes[start:], start=start + 1):
            note = f'[{n}] {c.document}, p. {c.page}: "{c.quote}"'
            self.multi_cell(0, 3.5, note, new_x="LMARGIN", new_y="NEXT")
        self.printed = len(self.notes)
        self.set_font("Roboto", "", 10)


def render_passport(record: PatientRecord) -> bytes:
    """The record as a printable Survivorship Passport (PDF bytes)."""
    lab = _LABELS["es" if record.provenance.language.startswith("es") else "en"]
    pdf = _Passport(lab)
    pdf.set_title(f"{lab['title']} - {MARK}")
    pdf.add_page()
    pdf.set_font("Roboto", "B", 16)
    pdf.cell(0, 10, lab["title"], new_x="LMARGIN", new_y="NEXT")
    d, m = record.demographics, body_measures(record)
    pdf.heading(lab["personal"])
    pdf.item(f"{lab['name']}: {d.given_name} {d.first_surname} {d.second_surname}")
    pdf.item(f"{lab['born']}: {d.birth_date.isoformat()}   {lab['sex']}: {lab[d.sex]}")
    pdf.item(f"{lab['card']}: {d.health_card_number}   {lab['mrn']}: {d.medical_record_number}")
    pdf.item(f"{lab['measures']}: {m.weight_kg} kg, {m.height_cm} cm ({m.bsa_m2} m2)")
    _diagnosis(pdf, lab["diagnosis"], record.diagnosis)
    pdf.heading(lab["flt"])
    _chemotherapy(pdf, record, record.chemotherapy)
    if record.intrathecal:
        it = record.intrathecal
        text = f"{lab['intrathecal']}: {', '.join(it.drugs)} ({it.injections}x, {it.start_date})"
        pdf.item(text, it.citations)
    pdf.footnotes()
    pdf.heading(lab["rt"])
    _radiotherapy(pdf, record.radiotherapy)
    pdf.heading(lab["surgery"])
    for s in record.surgery or []:
        pdf.item(f"{s.date}: {s.description}", s.citations)
    if not record.surgery:
        pdf.item(lab["none"])
    pdf.footnotes()
    pdf.heading(lab["hsct"])
    for t in record.hsct:
        donor = f", {t.donor.type.replace('_', ' ')}" if t.donor else ""
        gvhd = "; ".join(f"GvHD {g.form} {g.grade}" for g in t.gvhd)
        source = t.cell_source.replace("_", " ")
        pdf.item(f"{t.date}: {t.type} ({source}{donor}) {gvhd}".strip(), t.citations)
    if not record.hsct:
        pdf.item(lab["none"])
    pdf.footnotes()
    _others(pdf, record)
    pdf.heading(lab["relapse"])
    if record.relapse:
        r = record.relapse
        pdf.item(
            f"{r.date}: {r.site}"
            + (f" - {r.second_line_regimen}" if r.second_line_regimen else ""),
            r.citations,
        )
        _chemotherapy(pdf, record, r.second_line)
        _radiotherapy(pdf, r.second_line_radiotherapy)
    else:
        pdf.item(lab["none"])
    pdf.footnotes()
    pdf.heading(lab["second"])
    if record.second_tumour:
        second = record.second_tumour
        _diagnosis(pdf, None, second.diagnosis)
        _chemotherapy(pdf, record, second.chemotherapy)
        _radiotherapy(pdf, second.radiotherapy)
        for s in second.surgery:
            pdf.item(f"{lab['surgery']} {s.date}: {s.description}", s.citations)
    else:
        pdf.item(lab["none"])
    pdf.footnotes()
    return bytes(pdf.output())


def _diagnosis(pdf: _Passport, heading: str | None, dx: Diagnosis) -> None:
    lab = pdf.labels
    if heading:
        pdf.heading(heading)
    pdf.item(f"{lab['tumour']}: {dx.tumour} (ICD-O-3 {dx.icdo3_morphology})", dx.citations)
    pdf.item(f"{lab['site']}: {dx.site}   {lab['date']}: {dx.diagnosis_date.isoformat()}")
    if dx.metastasis_sites or dx.metastatic:
        pdf.item(f"{lab['metastases']}: {', '.join(dx.metastasis_sites) or '-'}")
    if dx.genetic_conditions:
        pdf.item(f"{lab['predisposition']}: {', '.join(dx.genetic_conditions)}")
    if dx.risk_group:
        pdf.item(f"{lab['risk']}: {lab[dx.risk_group]}")
    pdf.footnotes()


def passport_cumulative_doses(
    record: PatientRecord, items: list[ChemotherapyAdministration]
) -> dict[str, tuple[float, str]]:
    """Per drug: the sum of ``items`` per m², as the passport prints it."""
    m = body_measures(record)
    return {given[0].drug: cumulative_dose(given, m) for given in cumulative_groups(items).values()}


def _chemotherapy(pdf: _Passport, record: PatientRecord, items: list[ChemotherapyAdministration]):
    lab = pdf.labels
    if not items:
        return
    pdf.set_font("Roboto", "B", 10)
    pdf.item(lab["chemo"])
    pdf.set_font("Roboto", "", 10)
    for c in items:
        pdf.item(f"{c.date} ({lab['cycle']} {c.cycle}): {c.drug} {c.dose:g} {c.unit}", c.citations)
    pdf.set_font("Roboto", "B", 10)
    pdf.item(lab["cumulative"])
    pdf.set_font("Roboto", "", 10)
    for drug, (value, unit) in passport_cumulative_doses(record, items).items():
        pdf.item(f"{drug}: {value:g} {unit}")


def _radiotherapy(pdf: _Passport, courses) -> None:
    lab = pdf.labels
    for rt in courses:
        boost = f" + {lab['boost']} {rt.boost.site} {rt.boost.dose} Gy" if rt.boost else ""
        given = f"{rt.dose} Gy / {rt.fractions} {lab['fractions']}"
        if rt.dose is None and rt.metabolic is not None:  # dosed by its activity
            m = rt.metabolic
            given = f"{m.radiopharmaceutical} {m.activity:g} {m.activity_unit}"
        text = f"{rt.start_date}: {rt.site} {given}"
        pdf.item(f"{text} ({rt.technique.replace('_', ' ')}){boost}", rt.citations)
    if not courses:
        pdf.item(lab["none"])
    pdf.footnotes()


def _others(pdf: _Passport, record: PatientRecord) -> None:
    lab = pdf.labels
    pdf.heading(lab["others"])
    o = record.others
    if o is None:
        pdf.item(lab["none"])
        return
    if cvc := o.central_venous_catheter:
        pdf.item(f"{lab['cvc']}: {cvc.type} ({cvc.placed_date})")
    if fp := o.fertility_preservation:
        done = lab["yes"] if fp.done else lab["no"]
        pdf.item(f"{lab['fertility']}: {done}" + (f" ({fp.method})" if fp.method else ""))
    if tr := o.transfusions:
        many = lab["more10"] if tr.more_than_10 else (lab["yes"] if tr.any else lab["no"])
        pdf.item(f"{lab['transfusions']}: {many}")
    for tox in o.intoxications:
        pdf.item(f"{lab['intoxication']} {tox.date}: {tox.agent}")
    if o.citations:
        pdf.item(lab["notes"], o.citations)
    pdf.footnotes()
