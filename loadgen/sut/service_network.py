"""Microservices across a network: a round trip on every call between the app's processes.

``architecture.service_network: {rtt_ms: 0.5}`` stands for a deployment where each service runs on
its own host: the gateway's calls to a service and the services' calls to each other each pay the
round trip, as the database's queries do across ``architecture.network``.

How: the services listen on loopback, which they share with each other, the database and the load
generator, so no qdisc can delay one hop and not the others. Each service is instead reached through
a delay relay (:mod:`loadgen.sut.delay_relay`, the same program that makes the database's round trip
on a kernel without netem): its peers and the gateway are given the relay's address as the service's
(``--peer-url``), the service still listens on its own port. At bring-up the links measure what a
round trip through a relay holding nothing costs and hold each direction ``(rtt_ms - that) / 2``;
then they measure the round trip through a relay holding that, and step.json says both.

The relays stand for the wire: they run in no cgroup of the run (their CPU is reported apart, as the
database link's relays are), die with us (parent-death signal), are claimed in the registry (a
SIGKILLed run's relays are killed by the next run) and are killed by :meth:`ServiceLinks.destroy`.
"""

from __future__ import annotations

import socket
import subprocess
from typing import Any

from loadgen.sut.netns import echo_round_trips_ms, start_relay, stop_relay

FIELD = "architecture.service_network"


def _loopback_round_trip_ms(tries: int, hold_ms: float) -> float:
    """Median round trip (ms) to an echo server on loopback, through a relay holding ``hold_ms``
    each way."""
    lst = socket.create_server(("127.0.0.1", 0))
    try:
        proc, relay_port = start_relay("127.0.0.1", f"127.0.0.1:{lst.getsockname()[1]}", hold_ms, field=FIELD)
    except BaseException:
        lst.close()
        raise
    try:
        return echo_round_trips_ms(lst, ("127.0.0.1", relay_port), tries)
    finally:
        stop_relay(proc)


class ServiceLinks:
    """One delay relay in front of each service; see the module docstring."""

    delay_method = "relay"  # what loadgen.capacity.step reads to sample the relays' CPU apart

    def __init__(self, rtt_ms: float) -> None:
        self.rtt_ms = rtt_ms
        self.relay_cost_ms: float | None = None
        self.relay_hold_ms: float | None = None
        self.measured_rtt_ms: float | None = None
        self._relays: dict[str, tuple[subprocess.Popen, int, int]] = {}  # service -> (relay, its port, service port)

    def create(self) -> ServiceLinks:
        """Calibrate the hold: the lowest of 3 medians (a disturbed calibration would shorten every hold)."""
        self.relay_cost_ms = min(_loopback_round_trip_ms(30, 0.0) for _ in range(3))
        self.relay_hold_ms = max(0.0, (self.rtt_ms - self.relay_cost_ms) / 2)
        return self

    def peer_url(self, service: str, service_port: int) -> str:
        """The URL at which the gateway and the other services reach ``service`` (listening on
        ``service_port``): a relay in front of it, started on first use and kept until destroy()."""
        assert self.relay_hold_ms is not None, "create() first"
        known = self._relays.get(service)
        if known is not None and known[2] == service_port:
            return f"http://127.0.0.1:{known[1]}"
        if known is not None:
            stop_relay(known[0])
        proc, port = start_relay("127.0.0.1", f"127.0.0.1:{service_port}", self.relay_hold_ms, field=FIELD)
        self._relays[service] = (proc, port, service_port)
        return f"http://127.0.0.1:{port}"

    def measure_rtt(self) -> float:
        """What a call between services pays: the lowest of 3 medians of 20 one-byte request/responses
        through a relay holding what the service relays hold."""
        assert self.relay_hold_ms is not None, "create() first"
        self.measured_rtt_ms = min(_loopback_round_trip_ms(20, self.relay_hold_ms) for _ in range(3))
        return self.measured_rtt_ms

    def relay_pids(self) -> list[int]:
        return [proc.pid for proc, _, _ in self._relays.values() if proc.poll() is None]

    def summary(self) -> str:
        measured = f" (measured {self.measured_rtt_ms:.2f} ms)" if self.measured_rtt_ms is not None else ""
        return f"services {self.rtt_ms:g} ms apart{measured}, delay by relay (the services share loopback)"

    def describe(self) -> dict[str, Any]:
        """For step.json: what was configured, what the relays hold and what a round trip measured."""
        return {"summary": self.summary(), "rtt_ms": self.rtt_ms,
                "measured_rtt_ms": None if self.measured_rtt_ms is None else round(self.measured_rtt_ms, 3),
                "delay_by": "relay (the services share loopback: no qdisc can delay one hop apart)",
                "relay_cost_ms": None if self.relay_cost_ms is None else round(self.relay_cost_ms, 3),
                "relay_hold_ms": None if self.relay_hold_ms is None else round(self.relay_hold_ms, 3),
                "relays": {s: {"port": port, "to_port": to} for s, (_, port, to) in self._relays.items()},
                "measured_by": "lowest of 3 medians of 20 one-byte request/responses over one TCP connection "
                               "through a relay holding what the services' relays hold"}

    def destroy(self) -> None:
        """Kill the relays. Safe to call twice."""
        for proc, _, _ in self._relays.values():
            stop_relay(proc)
        self._relays.clear()


__all__ = ["ServiceLinks"]
