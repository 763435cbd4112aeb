"""The shipped tool modules (banking, insurance, call control); discovered by `registries.toolstore.discovery`.

Modules starting with `_` hold shared helpers and are not scanned for tools.
"""
