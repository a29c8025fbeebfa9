"""Scripted ZooKeeper sessions for the differential test: the same kazoo calls run against a real
ZooKeeper 3.8 and against a Mesh registry node, and each run prints one JSON line per step.
Times, session ids and zxids are normalised here (zxids by rank among every zxid the run saw,
session ids by which client owns them, times to how they compare), so the two transcripts are
equal exactly when the servers answered alike. Every watch notification the server sends is
recorded off the wire, in order, with the step during which it arrived.

usage: zk_sessions.py HOST:PORT"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import namedtuple

from kazoo.client import KazooClient
from kazoo.protocol import connection as kazoo_connection
from kazoo.protocol.serialization import (Connect, Create2, int_struct, long_struct, multiheader_struct, read_string,
                                          stat_struct, write_string)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE, make_acl, make_digest_acl

hosts = sys.argv[1]
ROOT = '/diff'

# Every notification off the wire (kazoo drops the ones it has no callback for, such as
# persistent watches'), tagged with the client that got it.
notifications = []
original_read_watch_event = kazoo_connection.ConnectionHandler._read_watch_event


def read_watch_event(self, buffer, offset):
    watch, _ = kazoo_connection.Watch.deserialize(buffer, offset)
    notifications.append({'client': names.get(id(self.client), '?'), 'type': watch.type,
                          'state': watch.state, 'path': watch.path})
    return original_read_watch_event(self, buffer, offset)


kazoo_connection.ConnectionHandler._read_watch_event = read_watch_event

# Negotiated session timeouts, from the connect responses.
timeouts = []
original_invoke = kazoo_connection.ConnectionHandler._invoke


def invoke(self, timeout, request, xid=None):
    result = original_invoke(self, timeout, request, xid)
    if isinstance(request, Connect):
        timeouts.append(result[0].time_out)
    return result


kazoo_connection.ConnectionHandler._invoke = invoke

names = {}
sessions = {}
transcript = []


def client(name, timeout=10.0, **options):
    zk = KazooClient(hosts=hosts, timeout=timeout, **options)
    names[id(zk)] = name
    zk.states = []
    zk.add_listener(lambda state: zk.states.append(str(state)))
    return zk


def start(zk):
    zk.start(timeout=20)
    sessions[zk.client_id[0]] = '%s#%d' % (names[id(zk)], len(sessions))


def mtime(s):
    # Never set: mtime is ctime. Set since: not before ctime, and possibly in the same
    # millisecond on either server, so "later or equal" is all that can be compared.
    if s.mtime == 0:
        return 'zero'
    if s.version == 0:
        return '=ctime' if s.mtime == s.ctime else '!=ctime'
    return '>=ctime' if s.mtime >= s.ctime else '<ctime'


def stat(s):
    return {'czxid': ('zxid', s.czxid), 'mzxid': ('zxid', s.mzxid), 'pzxid': ('zxid', s.pzxid),
            'ctime': 'zero' if s.ctime == 0 else 'set',
            'mtime': mtime(s),
            'version': s.version, 'cversion': s.cversion, 'aversion': s.aversion,
            'ephemeralOwner': ('session', s.ephemeralOwner), 'dataLength': s.dataLength,
            'numChildren': s.numChildren}


def shape(value):
    if isinstance(value, ZnodeStat):
        return stat(value)
    if isinstance(value, Exception):
        return {'error': type(value).__name__}
    if isinstance(value, bytes):
        return {'bytes': value.decode('latin-1')}
    if isinstance(value, (list, tuple)):
        return [shape(v) for v in value]
    return value


def step(name, call):
    """Runs one call, records its answer (or error) and the notifications that arrived before a
    barrier read after it. The server sends a change's notifications before any reply that
    reflects the change, so after the barrier every notification the step caused is here."""
    try:
        answer = shape(call())
    except Exception as error:  # the error class is the answer
        answer = {'error': type(error).__name__}
    barrier()
    transcript.append({'step': name, 'answer': answer, 'events': drain()})


def barrier():
    for zk in live:
        if zk.connected:
            zk.sync(ROOT if zk.exists(ROOT) else '/')
            zk.exists(ROOT)


def drain():
    events = list(notifications)
    del notifications[:]
    return events


def raw(zk, request):
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get(timeout=10)


def read_vector(bytes, offset, read_one):
    """A jute vector: its count, then each element as read_one(bytes, offset) -> (value, offset)."""
    count = int_struct.unpack_from(bytes, offset)[0]
    offset += int_struct.size
    values = []
    for _ in range(max(count, 0)):
        value, offset = read_one(bytes, offset)
        values.append(value)
    return values


class CreateContainer(Create2):
    type = 19


class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
    """createTTL (kazoo 2.8 lacks it): create2's body and the TTL; answered as create2."""
    type = 21

    def serialize(self):
        return Create2(self.path, self.data, self.acl, self.flags).serialize() + long_struct.pack(self.ttl)

    deserialize = Create2.deserialize


class RawMulti(object):
    """A multi of any ops (kazoo's transactions know only create, delete, setData and check), answered
    as each result's type and error, and the path and stat of a create2."""
    type = 14

    def __init__(self, ops):
        self.ops = ops

    def serialize(self):
        b = bytearray()
        for op in self.ops:
            b.extend(multiheader_struct.pack(op.type, False, -1) + op.serialize())
        b.extend(multiheader_struct.pack(-1, True, -1))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        results = []
        while True:
            kind, done, err = multiheader_struct.unpack_from(bytes, offset)
            offset += multiheader_struct.size
            if done:
                return results
            if kind == -1:
                results.append([kind, int_struct.unpack_from(bytes, offset)[0]])
                offset += int_struct.size
            elif kind == 1:
                path, offset = read_string(bytes, offset)
                results.append([kind, err, path])
            elif kind in (15, 19, 21):
                path, offset = read_string(bytes, offset)
                found = ZnodeStat._make(stat_struct.unpack_from(bytes, offset))
                offset += stat_struct.size
                results.append([kind, err, path, found])
            else:
                results.append([kind, err])


def until_gone(zk, path, seconds=20):
    """Waits for the server's reaper to delete path (None), or gives up (its stat), so a reap
    happens inside one step and the transcripts' zxids stay comparable."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = zk.exists(path)
        if found is None:
            return None
        time.sleep(0.05)
    return zk.exists(path)


class PathOnly(object):
    """A request whose body is one path (kazoo 2.8 lacks these ops)."""

    def __init__(self, path):
        self.path = path

    def serialize(self):
        return write_string(self.path)


class AllChildrenNumber(PathOnly):
    type = 104

    @classmethod
    def deserialize(cls, bytes, offset):
        return int_struct.unpack_from(bytes, offset)[0]


class Ephemerals(PathOnly):
    type = 103

    @classmethod
    def deserialize(cls, bytes, offset):
        return sorted(read_vector(bytes, offset, read_string))


class WhoAmI(object):
    """whoAmI (ZooKeeper 3.7+; kazoo 2.8 lacks it): the session's identities as (scheme, user) pairs."""
    type = 107

    def serialize(self):
        return bytearray()

    @classmethod
    def deserialize(cls, bytes, offset):
        return read_vector(bytes, offset, read_client_info)


def read_client_info(bytes, offset):
    scheme, offset = read_string(bytes, offset)
    user, offset = read_string(bytes, offset)
    return (scheme, user), offset


class SetWatches(object):
    type = 101

    def __init__(self, relative_zxid, data, exist, child):
        self.relative_zxid = relative_zxid
        self.lists = (data, exist, child)

    def serialize(self):
        b = bytearray(int_struct.pack(0) + int_struct.pack(0))
        b[:] = self.relative_zxid.to_bytes(8, 'big', signed=True)
        for paths in self.lists:
            b.extend(int_struct.pack(len(paths)))
            for path in paths:
                b.extend(write_string(path))
        return b

    @classmethod
    def deserialize(cls, bytes, offset):
        return True


class AddWatch(object):
    type = 106

    def __init__(self, path, mode):
        self.path = path
        self.mode = mode

    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.mode)

    @classmethod
    def deserialize(cls, bytes, offset):
        return True


def sorted_children(result):
    children, s = result
    return [sorted(children), s]


def wait_connected(zk):
    connected = threading.Event()
    zk.add_listener(lambda state: connected.set() if str(state) == 'CONNECTED' else None)
    return zk.connected or connected.wait(30)


def negotiated(seconds):
    zk = client('t', timeout=seconds)
    zk.start(timeout=20)
    value = timeouts[-1]
    zk.stop()
    zk.close()
    return [value]


def noop(event):
    pass


a = client('a')
b = client('b')
live = [a, b]
start(a)
start(b)
transcript.append({'step': 'timeout negotiated for 10 s', 'answer': timeouts[-1], 'events': []})

# --- basic tree, data and stats ---
step('create root', lambda: a.create(ROOT, b'root', include_data=True))
step('create child with data', lambda: a.create(ROOT + '/n', b'one', include_data=True))
step('get child', lambda: a.get(ROOT + '/n'))
step('set child', lambda: a.set(ROOT + '/n', b'two', version=0))
step('set child stale version', lambda: a.set(ROOT + '/n', b'three', version=0))
step('exists child', lambda: a.exists(ROOT + '/n'))
step('exists missing', lambda: a.exists(ROOT + '/none'))
step('get root stat', lambda: a.get(ROOT))
step('create null data', lambda: raw(a, Create2(ROOT + '/null', None, OPEN_ACL_UNSAFE, 0)))
step('get null data', lambda: a.get(ROOT + '/null'))
step('create empty data', lambda: a.create(ROOT + '/empty', b''))
step('get empty data', lambda: a.get(ROOT + '/empty'))
step('set null data', lambda: a.set(ROOT + '/empty', None))
step('get data set to null', lambda: a.get(ROOT + '/empty'))
step('set data over null', lambda: a.set(ROOT + '/null', b'now'))
step('get data set over null', lambda: a.get(ROOT + '/null'))


def multi_null():
    t = a.transaction()
    t.create(ROOT + '/multi-null', None)
    t.set_data(ROOT + '/null', None)
    return t.commit()


step('multi create and set null data', multi_null)
step('get null data made by multi', lambda: (a.get(ROOT + '/multi-null'), a.get(ROOT + '/null')))

# --- errors ---
step('create existing', lambda: a.create(ROOT + '/n'))
step('get missing', lambda: a.get(ROOT + '/none'))
step('create under missing parent', lambda: a.create(ROOT + '/none/child'))
step('set missing', lambda: a.set(ROOT + '/none', b'x'))
step('delete missing', lambda: a.delete(ROOT + '/none'))
step('delete not empty', lambda: a.create(ROOT + '/full/c', makepath=True) and a.delete(ROOT + '/full'))
step('delete stale version', lambda: a.delete(ROOT + '/n', version=5))
step('create trailing slash', lambda: raw(a, Create2(ROOT + '/slash/', b'', OPEN_ACL_UNSAFE, 0)))
step('create trailing slash existing parent', lambda: raw(a, Create2(ROOT + '/', b'', OPEN_ACL_UNSAFE, 0)))
step('create under ephemeral', lambda: a.create(ROOT + '/eph', ephemeral=True) and a.create(ROOT + '/eph/child'))
step('delete root', lambda: a.delete('/'))
step('create with bad acl', lambda: raw(a, Create2(ROOT + '/acl', b'', [], 0)))
step('create with a repeated open acl', lambda: raw(a, Create2(ROOT + '/acl2', b'', OPEN_ACL_UNSAFE * 2, 0)))
step('acl of a node created with a repeated acl', lambda: [(acl.perms, acl.id.scheme, acl.id.id) for acl in a.get_acls(ROOT + '/acl2')[0]])

# --- sequential nodes ---
step('sequential 1', lambda: a.create(ROOT + '/seq/item-', b'', sequence=True, makepath=True))
step('sequential 2', lambda: a.create(ROOT + '/seq/item-', b'', sequence=True))
step('plain child in seq', lambda: a.create(ROOT + '/seq/plain'))
step('delete sequential 1', lambda: a.delete(ROOT + '/seq/item-0000000000'))
step('sequential after delete', lambda: a.create(ROOT + '/seq/item-', b'', sequence=True))
step('sequential ephemeral', lambda: a.create(ROOT + '/seq/e-', b'', sequence=True, ephemeral=True))
step('sequential trailing slash', lambda: a.create(ROOT + '/seq/', b'', sequence=True))
step('getChildren2 seq', lambda: sorted_children(a.get_children(ROOT + '/seq', include_data=True)))
step('getChildren seq', lambda: sorted(a.get_children(ROOT + '/seq')))
step('getAllChildrenNumber root', lambda: raw(a, AllChildrenNumber(ROOT)))
step('getEphemerals root', lambda: raw(a, Ephemerals(ROOT)))
step('getEphemerals by b', lambda: raw(b, Ephemerals(ROOT)))


# --- multi ---
def multi_ok():
    t = a.transaction()
    t.create(ROOT + '/m', b'1')
    t.set_data(ROOT + '/m', b'2')
    t.check(ROOT + '/m', 1)
    t.create(ROOT + '/m/s-', b'', sequence=True)
    t.delete(ROOT + '/n')
    return t.commit()


def multi_fails():
    t = a.transaction()
    t.create(ROOT + '/m2', b'1')
    t.check(ROOT + '/m', 7)
    t.delete(ROOT + '/m')
    return t.commit()


def multi_delete_parent_then_child():
    t = a.transaction()
    t.delete(ROOT + '/m')
    t.delete(ROOT + '/m/s-0000000000')
    return t.commit()


step('multi ok', multi_ok)
step('multi fails', multi_fails)
step('multi not empty', multi_delete_parent_then_child)
step('multi after', lambda: [a.exists(ROOT + '/m2'), a.get(ROOT + '/m')])
step('multi empty', lambda: a.transaction().commit())

# --- watches ---
step('watch data', lambda: a.get(ROOT + '/m', watch=noop))
step('watch exists missing', lambda: a.exists(ROOT + '/w', watch=noop))
step('watch children', lambda: a.get_children(ROOT, watch=noop) and None)
step('b sets watched data', lambda: b.set(ROOT + '/m', b'3'))
step('b sets again (one-shot)', lambda: b.set(ROOT + '/m', b'4'))
step('b creates watched missing', lambda: b.create(ROOT + '/w', b''))
step('b creates another child', lambda: b.create(ROOT + '/w2', b''))
step('watch data and children of w', lambda: [a.get(ROOT + '/w', watch=noop), a.get_children(ROOT + '/w', watch=noop)])
step('b deletes watched', lambda: b.delete(ROOT + '/w'))
step('a changes own watched', lambda: [a.exists(ROOT + '/w2', watch=noop), a.set(ROOT + '/w2', b'x')])
step('persistent watch', lambda: raw(a, AddWatch(ROOT + '/p', 0)))
step('recursive watch', lambda: raw(a, AddWatch(ROOT + '/r', 1)))
step('b makes under watches', lambda: [b.create(ROOT + '/p', b''), b.set(ROOT + '/p', b'1'), b.set(ROOT + '/p', b'2'),
                                      b.create(ROOT + '/r', b''), b.create(ROOT + '/r/x/y', b'', makepath=True),
                                      b.set(ROOT + '/r/x/y', b'1'), b.create(ROOT + '/p/c', b'')])
step('b deletes under watches', lambda: [b.delete(ROOT + '/p/c'), b.delete(ROOT + '/p'), b.delete(ROOT + '/r', recursive=True)])

# --- ephemerals and sessions ---
step('b ephemeral', lambda: b.create(ROOT + '/b-eph', b'x', ephemeral=True, include_data=True))
step('a watches b ephemeral', lambda: a.exists(ROOT + '/b-eph', watch=noop))
step('b closes', lambda: (b.stop(), b.close(), live.remove(b)) and None)
step('b ephemeral after close', lambda: a.exists(ROOT + '/b-eph'))
step('b states', lambda: b.states)

# Expiry through another connection closing the session (what ZooKeeper's own tests do).
c = client('c')
live.append(c)
start(c)
step('c ephemeral', lambda: c.create(ROOT + '/c-eph', b'', ephemeral=True) and a.exists(ROOT + '/c-eph', watch=noop))
lost = threading.Event()
c.add_listener(lambda state: lost.set() if str(state) == 'LOST' else None)


def close_from_clone():
    clone = KazooClient(hosts=hosts, client_id=c.client_id, timeout=10)
    names[id(clone)] = 'clone'
    clone.start(timeout=20)
    clone.stop()
    clone.close()
    return lost.wait(30)


step('c session closed by a clone', close_from_clone)
step('c ephemeral after its session closed', lambda: a.exists(ROOT + '/c-eph'))
step('c reconnected with a new session', lambda: [wait_connected(c), c.client_id[0] not in sessions])
step('c states', lambda: c.states)


# Expiry by timeout: a process holding an ephemeral is killed; its session times out.
def killed_holder():
    code = ('import sys,time\nfrom kazoo.client import KazooClient\n'
            'zk = KazooClient(hosts=%r, timeout=4)\nzk.start(timeout=20)\n'
            'zk.create(%r, b"", ephemeral=True)\n'
            'print(zk.client_id[0], zk.client_id[1].hex(), flush=True)\ntime.sleep(120)\n') % (hosts, ROOT + '/doomed')
    holder = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    line = holder.stdout.readline().split()
    gone = threading.Event()
    a.exists(ROOT + '/doomed', watch=lambda event: gone.set())
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    deleted = gone.wait(60)
    resumed = client('resumed', client_id=(int(line[0]), bytes.fromhex(line[1])))
    resumed.start(timeout=30)
    answer = [deleted, a.exists(ROOT + '/doomed'), resumed.states, resumed.client_id[0] == int(line[0])]
    resumed.stop()
    resumed.close()
    return answer


step('killed holder expires', killed_holder)

# --- reconnect: same session, watches carried over with setWatches ---
# kazoo 2.8 forgets its watches when a connection drops (it sends no setWatches), so the
# script sends setWatches itself after the reconnect, relative to the last zxid seen before it.
step('a watches before reconnect', lambda: [a.get(ROOT + '/m', watch=noop), sorted(a.get_children(ROOT + '/seq', watch=noop))])
session_before = a.client_id[0]
zxid_before = a.last_zxid


def drop_and_reconnect():
    back = threading.Event()
    a.add_listener(lambda state: back.set() if str(state) == 'CONNECTED' else None)
    a._call(kazoo_connection._CONNECTION_DROP, None)
    return [back.wait(30), a.client_id[0] == session_before]


step('a drops connection and reconnects', drop_and_reconnect)
c2 = client('c2')
live.append(c2)
start(c2)
step('c2 changes watched after reconnect', lambda: [c2.set(ROOT + '/m', b'5'), c2.create(ROOT + '/seq/after'),
                                                  c2.create(ROOT + '/late', b'')])
step('a sets watches missed', lambda: raw(a, SetWatches(zxid_before, [ROOT + '/m', ROOT + '/seq/plain'], [ROOT + '/late', ROOT + '/never'],
                                                        [ROOT + '/seq', ROOT])))
step('c2 changes again (fired already)', lambda: [c2.set(ROOT + '/m', b'6'), c2.create(ROOT + '/seq/after2'),
                                                 c2.delete(ROOT + '/seq/plain')])
step('a states', lambda: a.states)

# --- per-node ACLs: digest users, the auth and ip schemes, NoAuth, getACL/setACL with versions ---
alice = client('alice', auth_data=[('digest', 'alice:secret')])
bob = client('bob')
live.extend([alice, bob])
start(alice)
start(bob)
A = ROOT + '/acl-a'
ALICE_ALL = make_digest_acl('alice', 'secret', all=True)


def acls(zk, path):
    found, node = zk.get_acls(path)
    return [[(acl.perms, acl.id.scheme, acl.id.id) for acl in found], node]


def bob_multi():
    t = bob.transaction()
    t.check(A, 0)
    t.set_data(A, b'x')
    return t.commit()


def bob_check():
    t = bob.transaction()
    t.check(A, -1)
    return t.commit()


step('acl create with a digest acl', lambda: alice.create(A, b'a', acl=[ALICE_ALL, make_acl('world', 'anyone', read=True)]))
step('acl getACL with admin', lambda: acls(alice, A))
step('acl getACL with read only hides digests', lambda: acls(bob, A))
step('acl NoAuth on write', lambda: bob.set(A, b'b'))
step('acl NoAuth on create', lambda: bob.create(A + '/c', b''))
step('acl create child as the user', lambda: alice.create(A + '/c', b''))
step('acl NoAuth on delete', lambda: bob.delete(A + '/c'))
step('acl NoAuth on delete of a missing child', lambda: bob.delete(A + '/missing'))
step('acl NoAuth on setACL', lambda: bob.set_acls(A, OPEN_ACL_UNSAFE))
step('acl NoAuth in a multi', bob_multi)
step('acl setACL bad version', lambda: alice.set_acls(A, [ALICE_ALL], version=5))
step('acl setACL with version', lambda: alice.set_acls(A, [ALICE_ALL], version=0))
step('acl setACL any version', lambda: alice.set_acls(A, [ALICE_ALL, ALICE_ALL]))
step('acl after setACL', lambda: acls(alice, A))
step('acl NoAuth on read', lambda: bob.get(A))
step('acl NoAuth on children', lambda: bob.get_children(A))
step('acl NoAuth on children count', lambda: raw(bob, AllChildrenNumber(A)))
step('acl exists needs no right', lambda: bob.exists(A))
step('acl NoAuth on getACL', lambda: acls(bob, A))
step('acl NoAuth on check', bob_check)
step('acl auth scheme', lambda: alice.create(ROOT + '/acl-auth', b'', acl=[make_acl('auth', '', all=True)]))
step('acl of an auth scheme node', lambda: acls(alice, ROOT + '/acl-auth'))
step('acl auth scheme without a digest identity', lambda: bob.create(ROOT + '/acl-auth2', b'', acl=[make_acl('auth', '', all=True)]))
step('acl unknown scheme', lambda: bob.create(ROOT + '/acl-x', b'', acl=[make_acl('nosuch', 'x', all=True)]))
step('acl digest id without a hash', lambda: bob.create(ROOT + '/acl-x', b'', acl=[make_acl('digest', 'nohash', all=True)]))
step('acl bad ip', lambda: bob.create(ROOT + '/acl-x', b'', acl=[make_acl('ip', '10.0.0', all=True)]))
step('acl world other than anyone', lambda: bob.create(ROOT + '/acl-x', b'', acl=[make_acl('world', 'someone', all=True)]))
step('acl ip of the client', lambda: bob.create(ROOT + '/acl-ip', b'', acl=[make_acl('ip', '127.0.0.1', all=True)]))
step('acl ip of the client allows it', lambda: [bob.set(ROOT + '/acl-ip', b'x'), acls(bob, ROOT + '/acl-ip')])
step('acl ip network of the client', lambda: bob.create(ROOT + '/acl-net', b'', acl=[make_acl('ip', '127.0.0.0/8', all=True)]))
step('acl ip network allows it', lambda: bob.set(ROOT + '/acl-net', b'x'))
step('acl ip of another network', lambda: bob.create(ROOT + '/acl-other', b'', acl=[make_acl('ip', '10.0.0.0/8', all=True), make_acl('world', 'anyone', read=True)]))
step('acl ip of another network refuses', lambda: bob.set(ROOT + '/acl-other', b'x'))
step('acl addauth later', lambda: [bob.add_auth('digest', 'alice:secret'), bob.get(A)])
step('acl whoAmI after addauth', lambda: raw(bob, WhoAmI()))
step('acl cleanup', lambda: [alice.delete(A, recursive=True), alice.delete(ROOT + '/acl-auth'), bob.delete(ROOT + '/acl-ip'),
                             bob.delete(ROOT + '/acl-net'), a.delete(ROOT + '/acl-other')])


# --- containers, sync, ACLs, /zookeeper ---
step('create container', lambda: raw(a, CreateContainer(ROOT + '/box', b'', OPEN_ACL_UNSAFE, 4)))
step('get container', lambda: a.get(ROOT + '/box'))
step('createContainer with another flag', lambda: raw(a, CreateContainer(ROOT + '/box2', b'', OPEN_ACL_UNSAFE, 0)))
step('create with the container flag', lambda: raw(a, Create2(ROOT + '/flagged', b'', OPEN_ACL_UNSAFE, 4)))
step('get node created with the container flag', lambda: a.get(ROOT + '/flagged'))
step('child of container', lambda: a.create(ROOT + '/box/x', b''))
step('watch container', lambda: a.exists(ROOT + '/box', watch=noop))
# A reap is waited for in the step that makes the node due, so it happens between the same two
# steps on both servers (and its zxid and notifications land in the same place).
step('delete child of container, then it is reaped', lambda: [a.delete(ROOT + '/box/x'), until_gone(a, ROOT + '/box')])
step('create ttl, watch it, then it is reaped', lambda: [raw(a, CreateTTL(ROOT + '/ttl', b'lease', OPEN_ACL_UNSAFE, 5, 1000)),
                                                         a.get(ROOT + '/ttl', watch=noop), until_gone(a, ROOT + '/ttl')])
step('create ttl sequential, then it is reaped',
     lambda: (lambda made: [made, until_gone(a, made[0])])(raw(a, CreateTTL(ROOT + '/ttl-', b'', OPEN_ACL_UNSAFE, 6, 300))))
step('create ttl zero', lambda: raw(a, CreateTTL(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 5, 0)))
step('create ttl negative', lambda: raw(a, CreateTTL(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 5, -3)))
step('create ttl over the maximum', lambda: raw(a, CreateTTL(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 5, 1 << 40)))
step('create ttl at the maximum', lambda: raw(a, CreateTTL(ROOT + '/ttlmax', b'', OPEN_ACL_UNSAFE, 5, (1 << 40) - 1)))
step('get ttl at the maximum', lambda: a.get(ROOT + '/ttlmax'))
step('createTTL of a persistent mode', lambda: raw(a, CreateTTL(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 0, 100)))
step('createTTL of an ephemeral mode', lambda: raw(a, CreateTTL(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 1, 100)))
step('create2 with a ttl flag', lambda: raw(a, Create2(ROOT + '/ttl0', b'', OPEN_ACL_UNSAFE, 5)))
step('create ttl with a child', lambda: [raw(a, CreateTTL(ROOT + '/ttlp', b'', OPEN_ACL_UNSAFE, 5, 100)), a.create(ROOT + '/ttlp/c', b'')])
step('ttl with a child kept past its ttl', lambda: [time.sleep(0.5), a.exists(ROOT + '/ttlp')][1])
step('delete child of ttl, then it is reaped', lambda: [a.delete(ROOT + '/ttlp/c'), until_gone(a, ROOT + '/ttlp')])
step('multi container and ttl, both reaped', lambda: [raw(a, RawMulti([CreateContainer(ROOT + '/mbox', b'', OPEN_ACL_UNSAFE, 4),
                                                                       CreateTTL(ROOT + '/mbox/t', b'', OPEN_ACL_UNSAFE, 5, 200)])),
                                                      until_gone(a, ROOT + '/mbox/t'), until_gone(a, ROOT + '/mbox')])
step('multi ttl refused', lambda: raw(a, RawMulti([Create2(ROOT + '/m1', b'', OPEN_ACL_UNSAFE, 0),
                                                   CreateTTL(ROOT + '/m2', b'', OPEN_ACL_UNSAFE, 5, 0)])))
step('remove ttl at the maximum', lambda: a.delete(ROOT + '/ttlmax'))
step('sync', lambda: a.sync(ROOT))
step('whoAmI', lambda: raw(a, WhoAmI()))
step('get acls', lambda: [[(acl.perms, acl.id.scheme, acl.id.id) for acl in a.get_acls(ROOT)[0]], a.get_acls(ROOT)[1]])
step('exists /zookeeper', lambda: a.exists('/zookeeper'))
step('children /zookeeper', lambda: sorted(a.get_children('/zookeeper')))
step('get /zookeeper/quota', lambda: a.get('/zookeeper/quota'))
step('get /zookeeper/config', lambda: a.get('/zookeeper/config'))
step('acl /zookeeper/config', lambda: [(acl.perms, acl.id.scheme, acl.id.id) for acl in a.get_acls('/zookeeper/config')[0]])
step('set /zookeeper/config', lambda: a.set('/zookeeper/config', b'x'))
step('zookeeper listed under the root', lambda: 'zookeeper' in a.get_children('/'))
step('create under /zookeeper', lambda: a.create('/zookeeper/mine', b''))
step('set /zookeeper/quota', lambda: a.set('/zookeeper/quota', b'x'))
step('delete /zookeeper', lambda: a.delete('/zookeeper'))
step('timeouts negotiated for 1 s and 100 s', lambda: negotiated(1.0) + negotiated(100.0))


step('cleanup', lambda: a.delete(ROOT, recursive=True))
for zk in live:
    zk.stop()
    zk.close()

# Zxids by rank and session ids by owner: the servers number them differently, but which
# compare equal, which is later, and whose session owns a node must agree.
zxids = set()


def collect(value):
    if isinstance(value, dict):
        for v in value.values():
            collect(v)
    elif isinstance(value, (list, tuple)):
        if len(value) == 2 and value[0] == 'zxid':
            zxids.add(value[1])
        else:
            for v in value:
                collect(v)


def normalise(value):
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) == 2 and value[0] == 'zxid':
            return 'z0' if value[1] == 0 else 'z%d' % ranks[value[1]]
        if len(value) == 2 and value[0] == 'session':
            return 'none' if value[1] == 0 else sessions.get(value[1], 'other')
        return [normalise(v) for v in value]
    return value


collect(transcript)
ranks = {z: i + 1 for i, z in enumerate(sorted(z for z in zxids if z != 0))}
for entry in transcript:
    print(json.dumps(normalise(entry), sort_keys=True))
