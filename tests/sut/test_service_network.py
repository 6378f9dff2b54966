"""``architecture.service_network``: every call between the microservices pays the round trip asked for
(a delay relay in front of each service, loadgen/sut/service_network.py); refused for a monolith."""

from __future__ import annotations

import statistics
import time

import httpx
import psutil
import pytest

from loadgen.sut.launcher import SystemUnderTest
from profiles.loader import load_profile
from profiles.schema import Architecture
from tests.sut.conftest import write_profile


def test_a_service_network_belongs_to_microservices_and_a_real_round_trip():
    assert Architecture(kind="microservices", service_network={"rtt_ms": 0.5}).service_network.rtt_ms == 0.5
    with pytest.raises(ValueError, match=r"service_network \(rtt 2 ms between services\): only for kind microservices"):
        Architecture(kind="monolith", service_network={"rtt_ms": 2})
    with pytest.raises(ValueError, match="rtt_ms 0 must be > 0"):
        Architecture(kind="microservices", service_network={"rtt_ms": 0})
    with pytest.raises(ValueError, match="bandwidth"):  # loopback is shared: only a round trip
        Architecture(kind="microservices", service_network={"rtt_ms": 1, "bandwidth": "1Gbit"})


RTT_MS = 20.0


def _median_ms(client: httpx.Client, url: str, token: str, n: int = 15) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@pytest.mark.slow
def test_a_call_through_the_gateway_pays_the_services_round_trip(tmp_path):
    """The gateway answers /operators/me by calling the customers service: one hop, so the call takes
    at least the round trip; the measured round trip is the configured one within 20 %; the relays
    are listed in step.json's system, sampled apart from the app, and gone with the system."""
    profile = load_profile(write_profile(
        tmp_path, "micro-net", "database: {engine: sqlite}\n"
        f"architecture: {{kind: microservices, workers: 1, service_network: {{rtt_ms: {RTT_MS:g}}}}}\n"))
    with SystemUnderTest(profile, unconstrained=True) as sut:
        sut.seed(200)
        sut.start_app()
        desc = sut.describe()["service_network"]
        assert desc["rtt_ms"] == RTT_MS and set(desc["relays"]) == {"customers", "inventory", "orders"}, desc
        assert 0.8 * RTT_MS <= desc["measured_rtt_ms"] <= 1.2 * RTT_MS, desc
        relays = sut.service_links.relay_pids()
        assert len(relays) == 3 and all(psutil.pid_exists(p) for p in relays)
        # the relays stand for the wire: not among the app's processes
        assert not set(relays) & set(sut.app_pids())
        with httpx.Client(base_url=sut.base_url, timeout=30) as client:
            r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "jxcbench-load"})
            assert r.status_code == 200, r.text
            token = r.json()["access_token"]
            via_gateway = _median_ms(client, "/api/v1/operators/me", token)
        print(f"service network {RTT_MS:g} ms: measured {desc['measured_rtt_ms']} ms; /operators/me via the "
              f"gateway {via_gateway:.1f} ms")
        assert via_gateway >= 0.8 * RTT_MS, via_gateway
        # a restarted app (every step starts its own) calls through the same relays
        sut.stop_app()
        sut.start_app()
        assert sut.service_links.relay_pids() == relays
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in relays)
