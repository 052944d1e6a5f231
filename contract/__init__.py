"""The contract between a terminal and the central platform: API models, request signing and the
text keys both sides search by. Both sides import it; neither imports the other (docs/architecture.md)."""
