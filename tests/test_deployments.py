"""deployments/prefect.yaml names real flows with parameters they accept."""

from __future__ import annotations

import importlib
import inspect

import yaml

from tests.simharness import ROOT


def test_every_deployment_points_at_a_flow_with_valid_parameters() -> None:
    doc = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    assert doc["deployments"]
    for dep in doc["deployments"]:
        path, _, name = dep["entrypoint"].partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        params = inspect.signature(flow.fn).parameters
        assert set(dep.get("parameters", {})) <= set(params), (dep["name"], params)
        assert dep["work_pool"]["name"] == "pullfix-process"
        for value in dep.get("parameters", {}).values():  # no secret belongs in parameters
            assert "secret" not in str(value).lower()
    policies = [d["parameters"]["policy"] for d in doc["deployments"]
                if "policy" in d.get("parameters", {})]
    assert all((ROOT / p).exists() for p in policies)
