"""What the PanCareSurPass (PCSP) document export codes with: profile canonical URLs, the IG's
own code systems and the few mappings from our record's words to the IG's value sets.

Every URL and code here is read from the IG's FSH sources (hl7-eu/pcsp, ``input/fsh``):
profile ids from ``profiles/*.fsh``, the generic code system from
``terminologies/codeSystems-pcsp.fsh``, radiotherapy sites from ``radiotherapy-cs-vs.fsh``,
value-set members from ``valueSets-pcsp.fsh`` and ``vs-predisposition.fsh``. A record value
with no code in a value set the IG binds as *required* is sent as the value set's own escape
(``data-absent-reason#as-text`` for radiotherapy sites) with the words as text; where the
binding is extensible or absent, text alone.
"""

from __future__ import annotations

from knowledge.vocabulary import radiotherapy_sites
from service.exports.fhir_common import PCSP, Json, cc

IG = "http://hl7.eu/fhir/ig/pcsp"
CS_GENERIC = f"{IG}/CodeSystem/cs-generic-eu-pcsp"
CS_RADIOTHERAPY = f"{IG}/CodeSystem/cs-radiotherapy-pcsp"
ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
ORPHA = "https://www.orpha.net"
PLAN_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"


class Profile:
    """Canonical URLs of the profiles the document declares (``Id:`` of each FSH profile)."""

    BUNDLE = PCSP + "Bundle-eu-pcsp"
    COMPOSITION = PCSP + "Composition-surpass-eu-pcsp"
    PATIENT = PCSP + "Patient-eu-pcsp"
    PRIMARY_CANCER = PCSP + "Condition-primaryCancer-eu-pcsp"
    SECONDARY_CANCER = PCSP + "Condition-secondaryCancer-eu-pcsp"
    PREDISPOSITION = PCSP + "Observation-predisposition-eu-pcsp"
    FLT = PCSP + "Procedure-flt-eu-pcsp"
    FLT_PLAN = PCSP + "PlanDefinition-flt-eu-pcsp"
    MEDICATION_ADMINISTRATION = PCSP + "MedicationAdministration-eu-pcsp"
    MEDICATION_STATEMENT = PCSP + "MedicationStatement-eu-pcsp"
    CUMULATIVE_DOSE_CHEMO = PCSP + "Observation-cumulativeDoseChemo-eu-pcsp"
    RADIOTHERAPY = PCSP + "Procedure-radiotheraphy-eu-pcsp"
    RADIOTHERAPY_BOOST = PCSP + "Procedure-radiotheraphyBoost-eu-pcsp"
    RADIOTHERAPY_SHIELDING = PCSP + "Procedure-radiotheraphyShield-eu-pcsp"
    TOTAL_DOSE_RAD = PCSP + "Observation-totalDoseRad-eu-pcsp"
    SURGERY = PCSP + "Procedure-surgery-eu-pcsp"
    SCT = PCSP + "Procedure-sct-eu-pcsp"
    SCT_PRODUCT = PCSP + "BiologicallyDerivedProduct-sct-eu-pcsp"
    SCT_PROPHYLAXIS = PCSP + "Procedure-sct-prophylaxis-eu-pcsp"
    GVHD = PCSP + "Condition-gvhd-eu-pcsp"
    BLOOD_ABO_RH = PCSP + "Observation-bld-abo-rh-eu-pcsp"
    TOXICITY = PCSP + "Condition-toxicity-eu-pcsp"
    CVC = PCSP + "Procedure-cvc-otherinfos-eu-pcsp"
    TRANSFUSION = PCSP + "Procedure-transfusion-otherinfos-eu-pcsp"
    CRYOPRESERVATION = PCSP + "Procedure-cryopreservation-otherinfos-eu-pcsp"
    CARE_PLAN = PCSP + "CarePlan-eu-pcsp"


class Extension:
    RELATED_INFO = PCSP + "resource-relatedInfo"
    PERFORMED_TIMING = PCSP + "procedure-performedTiming"
    ENERGY_OR_ISOTOPE = PCSP + "radiotherapy-energy-or-isotope"
    SACRIFIED_ORGAN = PCSP + "surgery-sacrifiedOrgan"
    SCT_DONOR_TYPE = PCSP + "sct-donor-type"
    SCT_SOURCE_TYPE = PCSP + "sct-source-type"
    USED_REFERENCE = PCSP + "procedure-usedReference"


def generic(code: str, display: str, text: str | None = None) -> Json:
    """A concept of the IG's own code system (CsGenericPcsp)."""
    return cc(CS_GENERIC, code, display, text)


# Radiotherapy sites (VsRadiotherapy, required): our site words -> cs-radiotherapy-pcsp.
_RT_SITES = {
    "brain": ("1", "Brain"),
    "whole brain": ("1.1", "Brain: Whole brain"),
    "head": ("2", "Head"),
    "neck": ("3", "Neck"),
    "spine": ("4", "Spine"),
    "whole spine": ("4.1", "Spine: Whole spine"),
    "chest": ("7", "Chest (thorax)"),
    "thorax": ("7", "Chest (thorax)"),
    "mediastinum": ("7.6", "Chest (thorax): Mediastinum"),
    "lung": ("7.11", "Chest (thorax): Lung"),
    "lungs": ("7.11", "Chest (thorax): Lung"),
    "whole lung": ("7.11.1", "Chest (thorax): Lung - Whole lung"),
    "whole lungs": ("7.11.1", "Chest (thorax): Lung - Whole lung"),
    "abdomen": ("9", "Abdomen"),
    "kidney": ("9.4", "Abdomen: Kidney"),
    "liver": ("9.5", "Abdomen: Liver"),
    "pelvis": ("11", "Pelvis"),
    "whole pelvis": ("11.1", "Pelvis: Whole Pelvis"),
    "upper limb": ("13", "Upper limb"),
    "lower limb": ("14", "Lower limb"),
    "whole body": ("50.50", "Special sites: Total body irradiation (TBI) entire body"),
    "total body": ("50.50", "Special sites: Total body irradiation (TBI) entire body"),
    "craniospinal": ("50.59", "Special sites: Whole Central Nervous System /Cranio-Spinal"),
}


def radiotherapy_site(site: str) -> Json:
    """A site from the IG's radiotherapy code system, or ``as-text`` with the words; a
    Spanish record's site ("cuerpo entero") is looked up under its vocabulary term."""
    key = site.strip().lower()
    term = next((t.term for t in radiotherapy_sites() if key in t.names), key)
    found = _RT_SITES.get(key) or _RT_SITES.get(term)
    if found:
        return cc(CS_RADIOTHERAPY, found[0], found[1], site)
    return cc(ABSENT, "as-text", "As Text", site)


# Radiotherapy type (RadiotherapyTypeVs) by technique; proton and TBI are external beam.
RADIOTHERAPY_TYPES = {
    "external_beam": ("33195004", "External beam radiotherapy"),
    "proton": ("33195004", "External beam radiotherapy"),
    "tbi": ("33195004", "External beam radiotherapy"),
    "brachytherapy": ("152198000", "Brachytherapy"),
    "metabolic": ("399315003", "Radionuclide therapy"),
}
# RadiotherapyIsotopes (extensible): SNOMED CT substances.
ISOTOPES = {
    "ir-192": ("48341001", "Iridium-192"),
    "i-125": ("68630002", "Iodine-125"),
    "i-131": ("1368003", "Iodine-131"),
    "131i": ("1368003", "Iodine-131"),
    "co-60": ("5405008", "Cobalt-60"),
    "cs-137": ("55117002", "Cesium-137"),
    "131i-mibg": ("395786000", "MIBG - metaiodobenzylguanidine"),
    "mibg": ("395786000", "MIBG - metaiodobenzylguanidine"),
    "lu-177": ("447553000", "Lutetium-177"),
    "y-90": ("14691008", "Yttrium-90"),
}
# AffectedOrganVs and SacrifiedOrganVs (both extensible): SNOMED CT body structures.
AFFECTED_ORGANS = {
    "oesophagus": ("32849002", "Oesophagus"),
    "esophagus": ("32849002", "Oesophagus"),
    "abdomen": ("818983003", "Abdomen"),
    "brain": ("12738006", "Brain"),
    "face": ("89545001", "Face"),
    "liver": ("10200004", "Liver"),
    "spine": ("421060004", "Spine"),
    "spinal cord": ("2748008", "Spinal Cord"),
    "chest": ("51185008", "Thoracic structure"),
    "thorax": ("51185008", "Thoracic structure"),
    "pelvis": ("12921003", "Pelvis"),
}
SACRIFIED_ORGANS = {
    "spleen": ("78961009", "Spleen"),
    "kidney": ("64033007", "Kidney"),
    "eye": ("81745001", "Eye"),
    "lung": ("39607008", "Lung"),
    "ovary": ("15497006", "Ovary"),
    "hypothalamus": ("67923007", "Hypothalamic structure"),
    "thyroid": ("69748006", "Thyroid"),
    "bladder": ("89837001", "Bladder"),
    "uterus": ("35039007", "Uterus"),
}
# SctDonorTypeVs and SctSourceTypeVs (required); the sibling code has an en dash, as in the IG.
DONOR_TYPES = {
    "matched_sibling": ("sct-matched-related\u2013sibling", "matched related \u2013 sibling"),
    "matched_unrelated": ("sct-matched-unrelated", "matched unrelated"),
    "mismatched_unrelated": ("sct-mismatch-unrelated", "mismatch unrelated"),
    "haploidentical": ("sct-haplo-identical", "haplo-identical"),
}
CELL_SOURCES = {
    "peripheral_blood": ("sct-pbsc", "PBSC"),
    "bone_marrow": ("sct-bone-marrow", "Bone marrow"),
    "cord_blood": ("sct-cord", "Cord"),
}
# SctTypeVs (required).
SCT_TYPES = {
    "autologous": ("53088000", "Autogenous transplantation"),
    "allogeneic": ("50223000", "Allogeneic transplantation"),
}
# OrphaHereditaryPredisposition (required slice): the syndromes the generator names.
ORPHA_CODES = {
    "li-fraumeni": ("524", "Li-Fraumeni Syndrome"),
    "neurofibromatosis type 2": ("637", "Neurofibromatosis type 2"),
    "beckwith-wiedemann": ("116", "Beckwith-Wiedemann syndrome"),
    "fanconi": ("84", "Fanconi anemia"),
    "ataxia telangiectasia": ("100", "Ataxia telangiectasia"),
    "bloom": ("125", "Bloom syndrome"),
    "lynch": ("144", "Lynch  Syndrome"),
}
# ABO and Rh answers (LOINC LL2419-1 and LL360-9), as the partner examples code them.
ABO = {
    "A": ("LA19710-5", "Group A"),
    "B": ("LA19709-7", "Group B"),
    "AB": ("LA28449-9", "Group AB"),
    "O": ("LA19708-9", "Group O"),
}
RH = {"+": ("LA6576-8", "Positive"), "-": ("LA6577-6", "Negative")}


def lookup(table: dict[str, tuple[str, str]], words: str) -> tuple[str, str] | None:
    """The entry whose key the words are, or contain (``Li-Fraumeni syndrome``)."""
    key = words.strip().lower()
    return table.get(key) or next((v for k, v in table.items() if k in key), None)
