"""Offline verifier of MiningTX proofs of liabilities; imports nothing from the server."""

from miningtx_verify.proof import (
    PROOF_FORMAT,
    PROOF_VERSION,
    ProofError,
    VerifiedProof,
    verify_proof,
)
from miningtx_verify.rules import FIELDS

__all__ = ["FIELDS", "PROOF_FORMAT", "PROOF_VERSION", "ProofError", "VerifiedProof", "verify_proof"]
