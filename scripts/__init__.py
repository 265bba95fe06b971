"""Operations tooling: the scale-out deployment script (`python -m scripts.scaleout`)."""
