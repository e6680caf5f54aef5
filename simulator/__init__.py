"""pullfix's local Azure + AKS twin. Never imported by flows/, tasks/ or policies/."""
