"""Record validation: clinical rules, code checks and citation grounding."""

from service.validation.rules import (
    GroundingSummary,
    RuleFailure,
    ValidationResult,
    Validator,
    build_validator,
)

__all__ = ["GroundingSummary", "RuleFailure", "ValidationResult", "Validator", "build_validator"]
