"""Numeric features of a record and the autoencoder that scores how unusual they are.

A record becomes a vector (``numeric_features``), the batch is standardised, and a small
autoencoder (bottleneck 2-3, fixed seed) trained on the other folds of the batch
reconstructs each record; its mean squared error is the record's reconstruction error.
Out-of-fold, because an autoencoder reconstructs well whatever it trained on, and a lone
outlier would carry most of the variance and be learnt first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from knowledge.vocabulary import drugs
from service.records import ChemotherapyAdministration, PatientRecord

if TYPE_CHECKING:
    import torch

AUTOENCODER_FOLDS = 5
AUTOENCODER_SEED = 20240501

_DRUG_CLASSES = (  # ATC prefix -> class; first match wins
    ("L01XA", "platinum"),
    ("L01XB", "alkylating"),
    ("L01A", "alkylating"),
    ("L01B", "antimetabolite"),
    ("L01C", "plant_alkaloid"),
    ("L01D", "cytotoxic_antibiotic"),
    ("H02", "corticosteroid"),
)
DRUG_CLASSES = (*dict.fromkeys(c for _, c in _DRUG_CLASSES), "other")
_TO_MG_M2 = {"mg/m2": 1.0, "g/m2": 1000.0}  # other units need the body size: not summed


def drug_atc_codes() -> dict[str, str]:
    """ATC code of every drug name and alias of the vocabulary."""
    return {name: term.code for term in drugs() for name in term.names}


def drug_class(administration: ChemotherapyAdministration, codes: dict[str, str]) -> str:
    atc = administration.atc or codes.get(administration.drug.strip().lower(), "")
    return next((cls for prefix, cls in _DRUG_CLASSES if atc.startswith(prefix)), "other")


def numeric_features(
    record: PatientRecord, codes: dict[str, str] | None = None
) -> dict[str, float | None]:
    """The record as numbers; None where a value does not apply (imputed to the batch mean).

    Cumulative doses are per drug class in mg/m2 (g/m2 converted; mg/kg and flat doses are
    left out, as converting them needs the body size). Administrations include second-line
    and second-tumour chemotherapy.
    """
    codes = drug_atc_codes() if codes is None else codes
    d = record.diagnosis
    chemo = list(record.chemotherapy)
    radio = list(record.radiotherapy)
    surgery = list(record.surgery)
    if record.relapse:
        chemo += record.relapse.second_line
        radio += record.relapse.second_line_radiotherapy
    if record.second_tumour:
        chemo += record.second_tumour.chemotherapy
        radio += record.second_tumour.radiotherapy
        surgery += record.second_tumour.surgery
    cumulative = dict.fromkeys(DRUG_CLASSES, 0.0)
    for a in chemo:
        if a.unit in _TO_MG_M2:
            cumulative[drug_class(a, codes)] += a.dose * _TO_MG_M2[a.unit]
    starts: list[date] = [a.date for a in chemo] + [r.start_date for r in radio]
    starts += [s.date for s in surgery] + [h.date for h in record.hsct]
    features: dict[str, float | None] = {
        "age_at_diagnosis": float(d.age_at_diagnosis),
        "metastatic": float(d.metastatic),
        "metastasis_sites": float(len(d.metastasis_sites)),
        "chemo_administrations": float(len(chemo)),
        "chemo_cycles": float(max((a.cycle for a in chemo), default=0)),
        "distinct_drugs": float(len({a.drug.lower() for a in chemo})),
        **{f"cumulative_{cls}_mg_m2": dose for cls, dose in cumulative.items()},
        "intrathecal_injections": float(record.intrathecal.injections if record.intrathecal else 0),
        "rt_courses": float(len(radio)),
        "rt_total_dose_gy": float(
            sum((r.dose or 0.0) + (r.boost.dose if r.boost else 0.0) for r in radio)
        ),
        "rt_fractions": float(sum(r.fractions for r in radio)),
        "surgeries": float(len(surgery)),
        "transplants": float(len(record.hsct)),
        "days_to_first_treatment": float((min(starts) - d.diagnosis_date).days) if starts else None,
        "treatment_span_days": float((max(starts) - min(starts)).days) if starts else None,
        "relapse": float(record.relapse is not None),
        "second_tumour": float(record.second_tumour is not None),
    }
    return features


def standardise(rows: Sequence[dict[str, float | None]]) -> np.ndarray:
    """Z-scores per feature over the batch; missing values get the mean (z = 0), a constant
    feature is all zeros."""
    names = list(rows[0])
    matrix = np.array(
        [[np.nan if row[n] is None else row[n] for n in names] for row in rows], dtype=np.float64
    )
    present = ~np.isnan(matrix)
    counts = present.sum(axis=0)
    means = np.where(counts > 0, np.nansum(matrix, axis=0) / np.maximum(counts, 1), 0.0)
    filled = np.where(present, matrix, means)
    std = filled.std(axis=0)
    return np.asarray((filled - means) / np.where(std > 0, std, 1.0))


HIDDEN = 16


class FoldAutoencoders:
    """``k`` independent autoencoders (dim -> 16 -> bottleneck -> 16 -> dim, tanh), one per
    fold, held as stacked weights so one optimiser step trains them all at once."""

    def __init__(self, k: int, dim: int, *, seed: int, like: torch.Tensor):
        import torch

        bottleneck = 2 if dim <= 12 else 3
        sizes = [dim, HIDDEN, bottleneck, HIDDEN, dim]
        generator = torch.Generator().manual_seed(seed)  # CPU: same weights on any device
        self.layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        for fan_in, fan_out in pairwise(sizes):
            bound = 1.0 / fan_in**0.5  # torch.nn.Linear's default initialisation range
            weight, bias = (
                ((torch.rand(shape, generator=generator) * 2 - 1) * bound)
                .to(device=like.device, dtype=like.dtype)
                .requires_grad_()
                for shape in ((k, fan_in, fan_out), (k, 1, fan_out))
            )
            self.layers.append((weight, bias))

    def parameters(self) -> list[torch.Tensor]:
        return [t for layer in self.layers for t in layer]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(k, n, dim) in, (k, n, dim) out: fold ``i``'s model applied to ``x[i]``."""
        for i, (weight, bias) in enumerate(self.layers):
            x = x @ weight + bias
            if i < len(self.layers) - 1:
                x = x.tanh()
        return x


def reconstruction_errors(
    features: torch.Tensor,
    *,
    folds: int = AUTOENCODER_FOLDS,
    seed: int = AUTOENCODER_SEED,
    epochs: int = 300,
) -> torch.Tensor:
    """Per-row MSE of an autoencoder trained on the other folds (rows ``i % folds``).

    Runs on the device of ``features`` (CPU or GPU alike); the same seed gives the same
    initial weights wherever it runs.
    """
    import torch

    n, dim = features.shape
    if n < 2:
        raise ValueError("reconstruction error needs at least two rows")
    k = min(folds, n)
    fold_of = torch.arange(n, device=features.device) % k
    held = fold_of[None, :] == torch.arange(k, device=features.device)[:, None]  # (k, n)
    train_weight = (~held).to(features.dtype) / (~held).sum(dim=1, keepdim=True) / dim
    model = FoldAutoencoders(k, dim, seed=seed, like=features)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    inputs = features.expand(k, n, dim)
    for _ in range(epochs):
        optimiser.zero_grad()
        squared = (model(inputs) - inputs) ** 2  # (k, n, dim)
        # each fold's mean error over its own training rows; folds share no weights
        loss = (squared.sum(dim=2) * train_weight).sum()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        per_row = ((model(inputs) - inputs) ** 2).mean(dim=2)  # (k, n)
        return (per_row * held).sum(dim=0)  # each row from the fold that never saw it
