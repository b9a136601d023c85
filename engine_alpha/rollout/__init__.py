"""Rollout: tiers, the activation order and the stability gates of Phase 2."""
