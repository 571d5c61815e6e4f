"""Bench-only Django site: the product's URLs plus two ceiling endpoints."""
