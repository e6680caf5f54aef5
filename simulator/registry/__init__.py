"""ACR registries' data plane: images, the token service, the registry API and the CONNECT
proxy clients reach registry hosts through. The management plane is
``simulator.containerregistry``."""
