"""Local servers that speak a real service's wire protocol, for tests that run the real SDK clients."""
