"""Concurrent load (every acknowledged call is logged and applied), TLS, and the `serve` command's refusals."""

from __future__ import annotations

import json
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.emulator.testing import running_emulator

WORKSPACE = Path(__file__).parents[3] / "fixtures/workspaces/dtc_store.yaml"
THREADS, CALLS = 8, 200


def test_concurrent_calls_are_all_logged_and_applied(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    acknowledged: list[list[str]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:

        def worker(n: int) -> None:
            try:
                with emu.track_client() as track:
                    for i in range(CALLS):
                        event_id = f"t{n}-{i}"
                        track.track(
                            f"cus_{n}", "product_viewed", {"product_id": event_id, "category": "x"}, id=event_id
                        )
                        acknowledged[n].append(event_id)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        profiles = emu.get("/profiles")["profiles"]
        held = {p["id"]: p["events"] for p in profiles}
    assert held == {f"cus_{n}": CALLS for n in range(THREADS)}
    logged: set[str] = set()
    for line in log.read_text().splitlines()[1:]:
        record = json.loads(line)
        logged.update(op.get("event_id") for op in record.get("ops", []))
    assert logged >= {event_id for ids in acknowledged for event_id in ids}
    assert sum(map(len, acknowledged)) == THREADS * CALLS


def test_track_client_batch_over_tls(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    with running_emulator(WORKSPACE, certfile=str(cert), keyfile=str(key)) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        track = emu.track_client(verify=str(ca))
        track.identify("cus_1", email="ana@example.com")
        track.batch(
            [
                {
                    "type": "person",
                    "identifiers": {"id": "cus_1"},
                    "action": "event",
                    "name": "order_completed",
                    "attributes": {"order_id": "o_1", "value": 300},
                }
            ]
        )
        assert [m["id"] for m in emu.members("vip")] == ["cus_1"]
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            emu.track_client(verify=True).identify("cus_2")  # the system store does not trust the test CA
    assert isinstance(ssl.OPENSSL_VERSION, str)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "add --allow-remote"),
        (["--certfile", "x.pem"], "--certfile and --keyfile go together"),
        (["--start", "2026-01-01T00:00:00Z"], "add --clock manual"),
        (["--clock", "manual", "--start", "tuesday"], "--start: expected an ISO-8601 instant"),
        (["--write-key", ""], "--write-key is empty"),
        (["--host", "10.0.0.1"], "add --allow-remote"),
    ],
)
def test_serve_refuses_bad_options_with_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--workspace", str(WORKSPACE), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_a_certificate_and_key_that_do_not_go_together_are_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(tmp_path / "other_key.pem"))
    args = ["serve", "-w", str(WORKSPACE), "--port", "0", "--log", str(tmp_path / "calls.jsonl")]
    args += ["--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "other_key.pem")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "expected a PEM certificate and its matching private key" in result.output
    assert not (tmp_path / "calls.jsonl").exists()


def test_serve_reports_a_bad_workspace_with_its_location(tmp_path: Path) -> None:
    bad = tmp_path / "ws.yaml"
    bad.write_text("segmentz: {}\n")
    result = CliRunner().invoke(main, ["serve", "--workspace", str(bad)])
    assert result.exit_code == 2
    assert "ws.yaml:1:" in result.output and "unknown key 'segmentz'" in result.output


def test_serve_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_uvicorn(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "uvicorn":
            raise ImportError("No module named 'uvicorn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    result = CliRunner().invoke(main, ["serve", "--workspace", str(WORKSPACE)])
    assert result.exit_code == 2
    assert "pip install 'segsim[serve]'" in result.output
