from tests.unit.registries.trees import tree

__all__ = ["tree"]
