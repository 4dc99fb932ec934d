"""Scale-out: two gateway processes behind a real HAProxy (``deploy/haproxy.cfg``: WebSocket,
health checks on ``/health/``, ``leastconn``, no stickiness), their channel layer sharded over two
Redis servers (``CHANNEL_REDIS_URLS``).

What it proves: an event published through one process reaches a client on the other; a client
that reconnects through the balancer to the other process resumes with ``since`` and no gap;
SIGKILL of a process moves its clients to the other with no event lost; a logout served by one
process closes the user's sockets on both (4401); each process holds one channel-layer
subscription per topic, on the Redis server the layer's consistent hash chose.

The tests share one cluster (module fixture) and run in file order; the SIGKILL test is last.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from urllib.request import Request, urlopen

import pytest
import redis
from django.db import transaction
from websockets.exceptions import ConnectionClosed

from realtime import outbox
from tests.conftest import tokens_for
from tests.factories.commerce import ProductFactory
from tests.factories.core import UserFactory
from tests.live import LiveServer, LoadBalancer, RedisServer, haproxy_binary
from tests.realtime.probes import ProbeTick

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(haproxy_binary() is None, reason="haproxy is not installed (make test installs it as root on "
                       "Debian; otherwise: sudo apt-get install -y haproxy)"),
]


class Cluster:
    def __init__(self, servers: dict[str, LiveServer], lb: LoadBalancer, redis_urls: list[str]) -> None:
        self.servers, self.lb, self.redis_urls = servers, lb, redis_urls

    def group_subscribers(self, topic: str) -> list[int]:
        """Per Redis server of the channel layer: how many subscriptions the topic's group has."""
        group = "rt." + topic.replace(":", ".")
        counts = []
        for url in self.redis_urls:
            client = redis.Redis.from_url(url)
            try:
                names = client.pubsub_channels(f"*__group__{group}")
                counts.append(sum(n for _, n in client.pubsub_numsub(*names)) if names else 0)
            finally:
                client.close()
        return counts


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory):
    from channels.layers import channel_layers
    from django.conf import settings

    tmp = tmp_path_factory.mktemp("scale-out")
    second = RedisServer(tmp / "redis2.log")
    urls = [settings.REDIS_URL, second.url]
    env = {"CHANNEL_REDIS_URLS": ",".join(urls), "WS_AUTH_TIMEOUT": "5"}
    servers = {name: LiveServer(tmp / f"{name}.log", wait=False, **env) for name in ("s0", "s1")}
    lb = None
    layer_config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    old_hosts = layer_config["hosts"]
    try:
        for server in servers.values():
            server.wait_healthy()
        lb = LoadBalancer(list(servers.values()), tmp / "haproxy.log")
        # This process publishes too (the outbox relay): it must shard the same way.
        layer_config["hosts"] = urls
        channel_layers.backends.clear()
        yield Cluster(servers, lb, urls)
    finally:
        layer_config["hosts"] = old_hosts
        channel_layers.backends.clear()
        if lb is not None:
            lb.stop()
        for server in servers.values():
            if server.proc.poll() is None:
                server.stop()
        second.stop()


def publish_committed(topic: str, **data) -> None:
    with transaction.atomic():
        outbox.publish(topic=topic, event=ProbeTick.build(**data))


def signed_in(cluster: Cluster, user, *, to: str):
    client = cluster.lb.connect(to=to)
    client.auth(tokens_for(user)["access"])
    return client


def test_event_published_through_one_process_reaches_a_client_on_the_other(cluster, transactional_db):
    buyer = UserFactory()
    product = ProductFactory(stock=5)
    topic = f"cart:{buyer.pk}"
    phone = signed_in(cluster, buyer, to="s0")
    assert phone.request("subscribe", topic=topic)["status"] == "ok"
    tablet = signed_in(cluster, buyer, to="s1")
    reply = tablet.request("command", topic=topic, name="add_item", data={"product_id": str(product.pk), "quantity": 2})
    assert reply["status"] == "ok", reply
    event = phone.next_event(topic, "cart.updated", timeout=10)
    assert event["seq"] == 1
    assert event["data"]["lines"][0]["quantity"] == 2
    # Sharded layer: the topic's group lives on exactly one of the two Redis servers, with one
    # subscription for the process that has a subscriber (the hub's), not one per socket.
    counts = cluster.group_subscribers(topic)
    assert sorted(counts) == [0, 1], counts


def test_topics_spread_over_both_redis_servers_and_each_process_subscribes_once(cluster, transactional_db):
    """Both Redis servers carry topic groups; a topic watched by sockets on both processes has two
    subscriptions (one per process), however many sockets watch it."""
    seen: dict[int, str] = {}
    for _ in range(40):
        user = UserFactory()
        topic = f"user:{user.pk}"
        clients = [signed_in(cluster, user, to=name) for name in ("s0", "s0", "s1", "s1", "s1")]
        for client in clients:
            assert client.request("subscribe", topic=topic)["status"] == "ok"
        counts = cluster.group_subscribers(topic)
        assert sorted(counts) == [0, 2], counts
        publish_committed(topic, n=1)
        for client in clients:
            assert client.next_event(topic, timeout=10)["type"] == ProbeTick.type
            client.close()
        seen.setdefault(counts.index(2), topic)
        if len(seen) == 2:
            break
    assert set(seen) == {0, 1}, f"every topic landed on one Redis server: {seen}"


def test_reconnect_through_the_balancer_to_the_other_process_resumes_without_gap(cluster, transactional_db):
    user = UserFactory()
    topic = f"user:{user.pk}"
    first = signed_in(cluster, user, to="s0")
    assert first.request("subscribe", topic=topic)["data"]["seq"] == 0
    for n in range(1, 4):
        publish_committed(topic, n=n)
    assert [first.next_event(topic)["seq"] for _ in range(3)] == [1, 2, 3]
    first.close()
    for n in range(4, 8):  # published while the client is away
        publish_committed(topic, n=n)
    again = signed_in(cluster, user, to="s1")
    reply = again.request("subscribe", topic=topic, since=3)
    assert reply["data"] == {"seq": 7, "recovered": True}
    replayed = [again.next_event(topic) for _ in range(4)]
    assert [(e["seq"], e["data"]["n"]) for e in replayed] == [(4, 4), (5, 5), (6, 6), (7, 7)]
    publish_committed(topic, n=8)
    assert again.next_event(topic, timeout=10)["seq"] == 8


def test_logout_served_by_one_process_closes_the_users_sockets_on_every_process(cluster, transactional_db):
    user = UserFactory()
    other = UserFactory()
    tokens = tokens_for(user)
    sockets = [signed_in(cluster, user, to=name) for name in ("s0", "s1")]
    bystander = signed_in(cluster, other, to="s0")
    request = Request(cluster.servers["s1"].url + "/api/v1/auth/logout/", method="POST",
                      data=json.dumps({"refresh": tokens["refresh"]}).encode(),
                      headers={"Authorization": f"Bearer {tokens['access']}", "Content-Type": "application/json"})
    with urlopen(request, timeout=10) as response:
        assert response.status == 204
    for client in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                client.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert bystander.request("ping")["status"] == "ok"


class Follower(threading.Thread):
    """A client that follows a topic through the balancer, reconnecting with ``since`` when its
    connection drops, and records every seq it receives."""

    def __init__(self, cluster: Cluster, token: str, topic: str, *, to: str) -> None:
        super().__init__(daemon=True)
        self.cluster, self.token, self.topic = cluster, token, topic
        self.seqs: list[int] = []
        self.servers: list[str] = []
        self.resumes: list[dict] = []
        self.stop = threading.Event()
        self.client = self._open(to=to, since=None)

    def _open(self, *, to: str | None, since: int | None):
        client = self.cluster.lb.connect(to=to)
        client.auth(self.token)
        frame = {"topic": self.topic} if since is None else {"topic": self.topic, "since": since}
        reply = client.request("subscribe", **frame)
        assert reply["status"] == "ok", reply
        if since is not None:
            self.resumes.append(reply["data"])
        self.servers.append(client.server)
        for ev in list(client.events):  # replayed before the reply
            if ev.get("op") == "event":
                self.seqs.append(ev["seq"])
        client.events.clear()
        return client

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                frame = self.client.recv(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                deadline = time.monotonic() + 20
                while True:
                    try:
                        self.client = self._open(to=None, since=self.seqs[-1] if self.seqs else 0)
                        break
                    except Exception:  # noqa: BLE001 - the balancer may still route to the dead one
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
                continue
            if frame.get("op") == "event":
                self.seqs.append(frame["seq"])


def test_killing_a_process_moves_its_clients_to_the_other_without_losing_an_event(cluster, transactional_db):
    user = UserFactory()
    topic = f"user:{user.pk}"
    token = tokens_for(user)["access"]
    followers = [Follower(cluster, token, topic, to=name) for name in ("s0", "s0", "s0", "s1", "s1", "s1")]
    for f in followers:
        f.start()
    total = 60
    for n in range(1, total + 1):
        publish_committed(topic, n=n)
        if n == 20:
            os.kill(cluster.servers["s0"].proc.pid, signal.SIGKILL)
        time.sleep(0.03)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(f.seqs[-1:] == [total] for f in followers):
        time.sleep(0.1)
    for f in followers:
        f.stop.set()
        f.join(5)
    assert cluster.servers["s0"].proc.wait(5) == -signal.SIGKILL
    for f in followers:
        assert f.seqs == list(range(1, total + 1)), (f.servers, f.seqs)
    moved = [f for f in followers if f.servers[0] == "s0"]
    assert len(moved) == 3
    for f in moved:
        assert f.servers[1:] and set(f.servers[1:]) == {"s1"}, f.servers
        assert all(r["recovered"] is True for r in f.resumes), f.resumes
    stayed = [f for f in followers if f.servers[0] == "s1"]
    assert all(f.servers == ["s1"] for f in stayed)
    assert "Traceback" not in cluster.servers["s1"].log()
