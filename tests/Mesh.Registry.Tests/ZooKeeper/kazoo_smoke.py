"""Kazoo (Debian's python3-kazoo) against a Mesh registry node's ZooKeeper port: connect,
ephemeral and sequential nodes, one-shot watches, multi, errors, a lock recipe, and ephemerals
gone with their session. Prints 'ok' last; any failure exits non-zero with the assertion."""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, RolledBackError

hosts = sys.argv[1]
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=20)

zk.ensure_path('/smoke/services')
path = zk.create('/smoke/services/inst-', b'{"port": 8080}', ephemeral=True, sequence=True)
assert path == '/smoke/services/inst-0000000000', path
data, stat = zk.get(path)
assert data == b'{"port": 8080}' and stat.ephemeralOwner == zk.client_id[0], (data, stat)

# A one-shot child watch fires once, for a change made by another session.
fired = []
changed = threading.Event()
def on_children(event):
    fired.append(event)
    changed.set()
zk.get_children('/smoke/services', watch=on_children)
other = KazooClient(hosts=hosts, timeout=10)
other.start(timeout=20)
other.create('/smoke/services/other', b'', ephemeral=True)
assert changed.wait(10), 'child watch did not fire'
assert fired[0].type == 'CHILD' and fired[0].path == '/smoke/services', fired

# A data watch, and the new data read after it fired.
data_changed = threading.Event()
zk.create('/smoke/config', b'v1')
zk.get('/smoke/config', watch=lambda e: data_changed.set())
other.set('/smoke/config', b'v2')
assert data_changed.wait(10), 'data watch did not fire'
assert zk.get('/smoke/config')[0] == b'v2'

# Multi: all or nothing, with ZooKeeper's per-op results.
t = zk.transaction()
t.create('/smoke/a', b'1')
t.set_data('/smoke/a', b'2')
t.check('/smoke/a', 1)
results = t.commit()
assert results[0] == '/smoke/a' and results[1].version == 1 and results[2] is True, results
t = zk.transaction()
t.create('/smoke/b')
t.delete('/smoke/missing')
results = t.commit()
assert isinstance(results[0], RolledBackError) and isinstance(results[1], NoNodeError), results
assert zk.exists('/smoke/b') is None

for call, error in ((lambda: zk.create('/smoke/a'), NodeExistsError),
                    (lambda: zk.set('/smoke/a', b'x', version=7), BadVersionError),
                    (lambda: zk.get('/smoke/none'), NoNodeError)):
    try:
        call()
        raise AssertionError('expected %s' % error.__name__)
    except error:
        pass

# The lock recipe: ephemeral sequential nodes, children and exists watches.
lock = zk.Lock('/smoke/lock', 'smoke')
with lock:
    assert len(zk.get_children('/smoke/lock')) == 1

# Ephemerals go with their session.
other.stop()
other.close()
assert zk.exists('/smoke/services/other') is None
zk.stop()
zk.close()
print('ok')
