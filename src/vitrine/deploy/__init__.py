"""Running Vitrine as several instances: the nginx configuration (rendered from the template in
this package) and a local copy of the production topology for development and the cluster
tests (`python -m vitrine.deploy cluster`, `make cluster`). See docs/deploy/."""
