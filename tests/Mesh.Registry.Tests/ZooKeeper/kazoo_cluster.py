"""kazoo against a 3-node Mesh registry, one scenario per run (driven by ZooKeeperClusterTests).

usage: kazoo_cluster.py MODE HOSTS
  follower  writes, ephemerals, sequentials, multi, sync and watches through the first host (a follower)
  move      sets up ephemerals and watches, prints "ready PORT", waits for "go" on stdin (the node it
            is connected to has been stopped), then checks the session moved with them
  expire    connects, makes an ephemeral, prints "ready", waits for "go" (its session has expired
            during an outage), then checks it is told the session is lost and the ephemeral is gone
Prints "ok" last when every check passed; exits non-zero with the failed check otherwise.
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry
from kazoo.protocol.states import KazooState

WAIT = 30


def check(condition, what):
    if not condition:
        print("FAILED: " + what, flush=True)
        sys.exit(1)


def peer_port(zk):
    return zk._connection._socket.getpeername()[1]


def event_watch(fired):
    def watch(event):
        fired.append(event)
        fired_event.set()
    return watch


fired_event = threading.Event()


def follower(zk, first_port):
    check(peer_port(zk) == first_port, "connected to the first host given (a follower)")
    zk.ensure_path("/f")
    zk.create("/f/a", b"one")
    data, stat = zk.get("/f/a")
    check(data == b"one" and stat.version == 0, "a create on a follower is read back at once")
    fired = []
    zk.get("/f/a", watch=event_watch(fired))
    zk.set("/f/a", b"two")
    check(fired_event.wait(WAIT) and fired[0].type == "CHANGED", "a data watch fires for a write made through the follower")
    eph = zk.create("/f/e", b"", ephemeral=True)
    check(zk.exists(eph).ephemeralOwner == zk.client_id[0], "an ephemeral is owned by the session")
    seq = [zk.create("/f/s-", b"", sequence=True) for _ in range(3)]
    check(seq == sorted(seq) and seq[0].endswith("0000000002"), "sequential names from the parent's cversion: " + repr(seq))
    t = zk.transaction()
    t.create("/f/t1", b"x")
    t.set_data("/f/a", b"three", version=1)
    results = t.commit()
    check(results[0] == "/f/t1" and results[1].version == 2, "a multi through the follower: " + repr(results))
    t = zk.transaction()
    t.create("/f/t2", b"x")
    t.check("/f/a", 99)
    results = t.commit()
    check(zk.exists("/f/t2") is None, "a failed multi changes nothing: " + repr(results))
    zk.sync("/")
    zk.delete("/f/a")
    check(zk.exists("/f/a") is None, "a delete through the follower")


def move(zk, first_port):
    check(peer_port(zk) == first_port, "connected to the first host given")
    session = zk.client_id
    zk.ensure_path("/m/w")
    zk.create("/m/e", b"mine", ephemeral=True)
    # kazoo drops its one-shot watches on a disconnect (it fires them with a NONE event and sends
    # no setWatches); its DataWatch and ChildrenWatch recipes are the watches that outlive one.
    data_seen, children_seen = [], []
    data_event, child_event = threading.Event(), threading.Event()

    @zk.DataWatch("/m/w")
    def on_data(data, stat):
        data_seen.append(data)
        if data == b"changed":
            data_event.set()

    @zk.ChildrenWatch("/m")
    def on_children(children):
        children_seen.append(sorted(children))
        if "new" in children:
            child_event.set()
    states = []
    back = threading.Event()

    def listen(state):
        states.append(state)
        if state == KazooState.CONNECTED and KazooState.SUSPENDED in states:
            back.set()
    zk.add_listener(listen)
    print("ready %d" % first_port, flush=True)
    check(sys.stdin.readline().strip() == "go", "told to go on")
    check(back.wait(WAIT), "reconnected after the node it was on stopped; states: %r" % states)
    check(KazooState.LOST not in states, "the session was never lost")
    check(zk.client_id == session, "the same session moved to another node")
    check(peer_port(zk) != first_port, "now on another node")
    # When the node it was on led the cluster, the one it moved to may still forward to the dead
    # leader until a new one is elected: that request is answered ConnectionLoss (its outcome
    # unknown) and the connection closed, as a ZooKeeper follower that lost its leader does, so
    # a client retries. Both writes are idempotent.
    retry = KazooRetry(max_tries=-1, delay=0.2, max_delay=1, deadline=WAIT, ignore_expire=False)
    check(retry(zk.get, "/m/e")[0] == b"mine", "its ephemeral survived the move")
    retry(zk.set, "/m/w", b"changed")
    check(data_event.wait(WAIT), "the data watch set before the move fired after it: %r" % data_seen)
    retry(zk.ensure_path, "/m/new")
    check(child_event.wait(WAIT), "the children watch set before the move fired after it: %r" % children_seen)


def expire(zk, first_port):
    zk.create("/x-" + str(zk.client_id[0]), b"", ephemeral=True)
    lost = threading.Event()
    zk.add_listener(lambda state: lost.set() if state == KazooState.LOST else None)
    print("ready %d" % zk.client_id[0], flush=True)
    check(sys.stdin.readline().strip() == "go", "told to go on")
    check(lost.wait(WAIT), "told the session is lost (expired during the outage)")


def main():
    mode, hosts = sys.argv[1], sys.argv[2]
    first_port = int(hosts.split(",")[0].rsplit(":", 1)[1])
    zk = KazooClient(hosts=hosts, randomize_hosts=False, timeout=float(sys.argv[3]) if len(sys.argv) > 3 else 10.0,
                     connection_retry={"max_tries": -1, "delay": 0.1, "max_delay": 1})
    zk.start(timeout=WAIT)
    {"follower": follower, "move": move, "expire": expire}[mode](zk, first_port)
    if mode == "expire":
        # kazoo starts a new session after a lost one: the old session's ephemeral is gone.
        deadline = threading.Event()
        for _ in range(WAIT * 10):
            if zk.connected:
                break
            deadline.wait(0.1)
        check(zk.connected, "connected again with a new session")
        children = zk.get_children("/")
        check(not any(c.startswith("x-") for c in children), "the expired session's ephemeral is gone: %r" % children)
    zk.stop()
    zk.close()
    print("ok", flush=True)


main()
