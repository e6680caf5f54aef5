"""Each simulated AKS cluster's Kubernetes API (served at ``/k8s/<cluster key>``)."""
