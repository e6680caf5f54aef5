"""``pullfix classify``: the real command in a subprocess, fed the way people and pipelines feed
it — plain lines, JSON lines, files — and refusing malformed input with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Azure/AKS#4459 and the troubleshooting article's cause 4 (see tests/test_classify.py)
ANON_401 = ('Failed to pull image "contoso.azurecr.io/main/app:v5.0.0": failed to pull and unpack image '
            '"contoso.azurecr.io/main/app:v5.0.0": failed to resolve reference "contoso.azurecr.io/main/'
            'app:v5.0.0": failed to authorize: failed to fetch anonymous token: unexpected status from '
            "GET request to https://contoso.azurecr.io/oauth2/token?scope=repository%3Amain%2Fapp%3Apull"
            "&service=contoso.azurecr.io: 401 Unauthorized")
TIMEOUT = ('Failed to pull image "contoso.azurecr.io/app:v1": rpc error: code = Unknown desc = failed to '
           'pull and unpack image "contoso.azurecr.io/app:v1": failed to resolve reference "contoso.'
           'azurecr.io/app:v1": failed to do request: Head "https://contoso.azurecr.io/v2/app/manifests/'
           'v1": dial tcp 10.1.0.5:443: i/o timeout')


def run(*args: str, stdin: bytes | None = b"") -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "flows.cli", "classify", *args], cwd=ROOT,
                          input=stdin, capture_output=True, timeout=60, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def test_plain_lines_from_stdin_give_one_json_object_each() -> None:
    # given two kubelet messages and a blank line on stdin
    got = run(stdin=f"{ANON_401}\n\n{TIMEOUT}\n".encode())
    # then one JSON object per message, in order, with the contract's fields
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert [(r["category"], r["ambiguous"]) for r in rows] == [("unauthorized", True), ("timeout", False)]
    assert {"category", "subcause", "confidence", "ambiguous", "image", "registry_host", "http_status",
            "credentials_sent", "runtime", "reason", "rule", "evidence", "step"} <= rows[0].keys()
    # and why: the rule that decided, the words it read, the step that failed
    assert (rows[0]["rule"], rows[0]["step"]) == ("anonymous_token_401", "authorize")
    assert rows[0]["evidence"].startswith("anonymous token")
    assert rows[0]["evidence"].endswith("service=contoso.azurecr.io: 401")
    assert (rows[1]["rule"], rows[1]["step"]) == ("timeout", "dial")
    assert rows[1]["evidence"] == ('…"https://contoso.azurecr.io/v2/app/manifests/v1": '
                                   "dial tcp 10.1.0.5:443: i/o timeout")
    assert (rows[0]["credentials_sent"], rows[0]["http_status"]) == (False, 401)
    assert rows[1]["registry_host"] == "contoso.azurecr.io"


def test_json_lines_with_event_reason() -> None:
    # given JSON lines, one carrying the event reason the kubelet gave
    lines = [json.dumps({"message": TIMEOUT, "pod": "web-1"}),
             json.dumps({"message": 'Back-off pulling image "app:v1"', "event_reason": "ErrImageNeverPull"})]
    got = run(stdin="\n".join(lines).encode())
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert [(r["category"], r["subcause"]) for r in rows] == [("timeout", None), ("other", "never_pull")]


def test_files_as_arguments(tmp_path: Path) -> None:
    # given two files, one plain, one JSON lines
    a, b = tmp_path / "a.txt", tmp_path / "b.jsonl"
    a.write_text(TIMEOUT + "\n")
    b.write_text(json.dumps({"message": ANON_401}) + "\n")
    got = run(str(a), str(b), stdin=None)
    assert got.returncode == 0, got.stderr
    assert [json.loads(line)["category"] for line in got.stdout.splitlines()] == ["timeout",
                                                                                 "unauthorized"]


def test_table_output_for_people_shows_why() -> None:
    # given a GitLab "denied" answer (a registry pullfix does not manage) and the ACR anonymous 401
    gitlab = ('Error response from daemon: Head "https://registry.gitlab.com/v2/youtous/mailserver-traefik/'
              'manifests/latest": denied: access forbidden')
    got = run("-o", "table", stdin=f"{ANON_401}\n{gitlab}\n".encode())
    assert got.returncode == 0, got.stderr
    rows = [line for line in got.stdout.splitlines() if line.startswith("│ ")]
    # then each row names the category, the rule and step that decided, and the words it read
    first, second = rows[0], next(r for r in rows if r.startswith("│ 2 "))
    for cell in ("unauthorized", "yes", "anonymous_token_401", "authorize", "contoso.azurecr.io", "401",
                 "anonymous token: unexpected status from GET request to"):
        assert cell in first, cell
    for cell in ("forbidden", "registry_denied", "manifest", "registry.gitlab.com", "403"):
        assert cell in second, cell
    assert "denied: access forbidden" in got.stdout


def test_empty_stdin_is_refused() -> None:
    got = run(stdin=b"\n  \n")
    assert got.returncode == 2
    assert "no input: pipe kubelet messages or pass files" in got.stderr
    assert got.stdout == ""


def test_binary_stdin_is_refused() -> None:
    got = run(stdin=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert got.returncode == 2
    assert "not UTF-8 text" in got.stderr
    assert got.stdout == ""


def test_json_line_without_message_names_the_line() -> None:
    # given a good line, then a JSON object without "message" on line 2
    got = run(stdin=f'{TIMEOUT}\n{{"msg": "oops"}}\n'.encode())
    assert got.returncode == 2
    assert 'line 2: JSON line has no "message"' in got.stderr
    assert got.stdout == ""  # nothing half-written: input is checked before output


def test_broken_json_line_names_the_line() -> None:
    got = run(stdin=b'{"message": "unterminated\n')
    assert got.returncode == 2
    assert "line 1: not valid JSON" in got.stderr


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    got = run(str(missing), stdin=None)
    assert got.returncode == 2
    assert f"cannot read {missing}" in got.stderr


def test_unknown_output_format() -> None:
    got = run("-o", "xml", stdin=f"{TIMEOUT}\n".encode())
    assert got.returncode == 2
    assert "'xml' is not one of 'table', 'json', 'yaml'" in got.stderr
