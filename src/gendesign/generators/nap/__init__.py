"""NAP: a transformer neural process with an end-to-end acquisition head, fine-tuned with PPO (Maraval et al. 2023)."""

from gendesign.generators.nap.policy import NAPPolicy

__all__ = ["NAPPolicy"]
