"""``python -m simulator serve|scenarios``."""

from __future__ import annotations

import json
import signal
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The pullfix simulator: a local Azure cloud over HTTPS on 127.0.0.1.")


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    from simulator.scenario import read_scenario, scenario_names

    for name in scenario_names():
        doc, _ = read_scenario(name)
        lines = (doc.get("description") or "").strip().splitlines()
        typer.echo(f"{name}\t{lines[0] if lines else ''}")


@app.command()
def serve(
    scenario: Annotated[str | None, typer.Option(
        help="built-in scenario name, YAML path, or fleet:SUBSxCLUSTERS[:SEED] (default: demo, "
             "or the world kept in --state-dir)")] = None,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = any free port)")] = 8443,
    connection_file: Annotated[Path, typer.Option(help="where to write the connection JSON")]
    = Path(".pullfix/sim/connection.json"),
    state_dir: Annotated[Path | None, typer.Option(
        help="keep CA, keys and world state here; a restart with the same directory resumes "
             "the same world (default: a fresh temporary directory)")] = None,
    latency_ms: Annotated[float | None, typer.Option(
        min=0, help="network latency added to every cloud request, in milliseconds "
                    "(settings.latency_ms; default: the scenario's, 0)")] = None,
    throttling: Annotated[bool, typer.Option(
        "--throttling", help="turn on ARM's throttling model (token buckets per subscription "
                             "and principal, and global ones; settings.throttling)")] = False,
) -> None:
    """Serve a scenario until SIGTERM/SIGINT."""
    from simulator.core.world import World, merge
    from simulator.scenario import ScenarioError, build_world, read_scenario
    from simulator.server import SimServer, StartError

    persistent = state_dir is not None
    # absolute: the connection file's CA paths are read by processes in other folders (a
    # Prefect worker runs each flow in a temporary one)
    directory = (state_dir or Path(tempfile.mkdtemp(prefix="pullfix-sim-"))).resolve()
    world = World.load(directory) if persistent else None
    try:
        if world is not None and scenario is not None and world.state["scenario"].get(
                "name") not in (scenario, Path(scenario).stem, _fleet_name(scenario)):
            raise ScenarioError(
                f"{directory} holds the world of scenario '{world.state['scenario'].get('name')}'"
                f", not '{scenario}': pass that --scenario to resume it, or another --state-dir")
        # the flags' settings are part of the world (a reset keeps them)
        flags: dict[str, Any] = {}
        if latency_ms is not None:
            flags["latency_ms"] = latency_ms
        if throttling:
            flags["throttling"] = {"enabled": True}
        built = world is None
        if world is None:
            doc, origin = read_scenario(scenario or "demo")
            world = build_world({**doc, "settings": {**(doc.get("settings") or {}), **flags}},
                                origin)
        else:
            from simulator.scenario import load_providers

            load_providers()
            merge(world.settings, flags)
        server = SimServer(world, directory, port=port)
    except (ScenarioError, StartError) as exc:
        typer.echo(f"simulator: cannot start: {exc}", err=True)
        raise typer.Exit(2) from None
    if persistent:
        server.enable_persistence()
        if built:
            world.save_initial(directory)  # as built: the initial state is the state
        else:
            server.persist()

    def stop(*_: object) -> None:
        server.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    conn = server.connection()
    typer.echo(f"simulator: scenario '{conn['scenario']}' on {conn['arm_endpoint']} "
               f"(tenant {conn['tenant_id']}); connection file: {connection_file}", err=True)
    server.serve(connection_file)


def _fleet_name(scenario: str) -> str | None:
    """The name a generated fleet's world carries (``fleet:2x10:5`` → ``fleet-2x10-5``), so a
    restart with the same ``--scenario`` resumes it."""
    if not scenario.startswith("fleet:"):
        return None
    from simulator.fleet import generate_from_spec

    try:
        return str(generate_from_spec(scenario.split(":", 1)[1])["name"])
    except ValueError:
        return None


@app.command("env")
def env_cmd(
    connection_file: Annotated[Path, typer.Option()] = Path(".pullfix/sim/connection.json"),
) -> None:
    """Print ``export`` lines for a shell from a connection file."""
    conn = json.loads(connection_file.read_text())
    for k, v in conn["env"].items():
        typer.echo(f"export {k}='{v}'")


def main() -> None:
    app(prog_name="python -m simulator")
    sys.exit(0)
