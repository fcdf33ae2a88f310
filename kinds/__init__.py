"""The artifact-kind registry: one module per kind (see kinds/base.py for the contract)."""
