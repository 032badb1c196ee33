"""The disclosure layer: one policy, primary and secondary suppression, and the attacker that
checks a release before it is published (docs/disclosure.md)."""
