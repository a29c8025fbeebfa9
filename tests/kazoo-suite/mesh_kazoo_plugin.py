"""pytest plugin: kazoo's own test suite against a 3-node Mesh registry.

kazoo's tests reach their servers only through kazoo.testing.harness.get_global_cluster(); this
plugin replaces that one function with a cluster of `mesh registry` processes serving ZooKeeper
(--zk, --zk-open, and --zk-read-only, as kazoo's harness runs ZooKeeper with
readonlymode.enabled=true) instead of Java servers. Each server can be stopped and run again, as the
suite's restart tests do; its Raft port is a socket bound here at port 0 and handed to every run
of the process (--listen-peer fd:N), its ZooKeeper port is the one it got on its first run.
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import kazoo.testing.harness as harness

MESH = os.environ.get("MESH_DLL", os.path.join(os.path.dirname(__file__), "..", "..", "artifacts", "bin", "Mesh.Cli", "release", "mesh.dll"))
ZK_LINE = re.compile(r"ZooKeeper clients on 127\.0\.0\.1:(\d+)")


class MeshServer(object):
    def __init__(self, server_id, root, raft_socket, cluster):
        self.server_id = server_id
        self.host = "127.0.0.1"
        self.data = os.path.join(root, "node%d" % server_id)
        self.log_path = os.path.join(root, "node%d.log" % server_id)
        self.raft_socket = raft_socket
        self.cluster = cluster
        self.zk_port = 0
        self.process = None

    @property
    def address(self):
        return "%s:%s" % (self.host, self.zk_port)

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    @property
    def client_port(self):
        return self.zk_port

    def start_process(self):
        if self.running:
            return
        fd = self.raft_socket.fileno()
        args = ["dotnet", MESH, "registry", "--id", str(self.server_id), "--peers", self.cluster.peers(),
                "--listen-peer", "fd:%d" % fd, "--data", self.data, "--client", "127.0.0.1:0",
                "--zk", "127.0.0.1:%d" % self.zk_port, "--zk-open", "--zk-read-only"] + self.cluster.extra_args
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, pass_fds=[fd])

    def wait_listening(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as fh:
                found = ZK_LINE.findall(fh.read())
            if found:
                self.zk_port = int(found[-1])
                if ruok(self.host, self.zk_port):
                    return
            if self.process.poll() is not None:
                raise RuntimeError("mesh registry %d exited; see %s" % (self.server_id, self.log_path))
            time.sleep(0.1)
        raise RuntimeError("mesh registry %d did not serve ZooKeeper in %d s; see %s" % (self.server_id, timeout, self.log_path))

    def run(self):
        self.start_process()
        self.wait_listening()

    def stop(self):
        if not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def reset(self):
        self.stop()
        shutil.rmtree(self.data, True)

    def destroy(self):
        self.stop()


def ruok(host, port):
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"ruok")
            return s.recv(4) == b"imok"
    except OSError:
        return False


class MeshCluster(object):
    def __init__(self, size=3):
        self.root = tempfile.mkdtemp(prefix="mesh-kazoo-")
        self.extra_args = os.environ.get("MESH_REGISTRY_ARGS", "").split()
        self.sockets = []
        for _ in range(size):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            os.set_inheritable(s.fileno(), True)
            self.sockets.append(s)
        self._servers = [MeshServer(i + 1, self.root, self.sockets[i], self) for i in range(size)]

    def peers(self):
        return ",".join("%d=127.0.0.1:%d" % (i + 1, s.getsockname()[1]) for i, s in enumerate(self.sockets))

    def __getitem__(self, k):
        return self._servers[k]

    def __iter__(self):
        return iter(self._servers)

    def start(self):
        for server in self:
            server.start_process()
        for server in self:
            server.wait_listening()
        wait_writable(",".join(s.address for s in self))

    def stop(self):
        for server in self:
            server.stop()

    def terminate(self):
        for server in self:
            server.destroy()
        shutil.rmtree(self.root, True)

    def reset(self):
        for server in self:
            server.reset()


def wait_writable(hosts, timeout=60):
    """Until a leader is elected and has made the CA (session passwords come from it), a client cannot connect."""
    from kazoo.client import KazooClient
    deadline = time.time() + timeout
    while True:
        client = KazooClient(hosts=hosts, timeout=10)
        try:
            client.start(timeout=5)
            client.ensure_path("/")
            client.stop()
            client.close()
            return
        except Exception:
            client.stop()
            client.close()
            if time.time() > deadline:
                raise
            time.sleep(0.5)


_CLUSTER = None


def get_global_cluster():
    global _CLUSTER
    if _CLUSTER is None:
        _CLUSTER = MeshCluster(int(os.environ.get("ZOOKEEPER_CLUSTER_SIZE", "3")))
        atexit.register(_CLUSTER.terminate)
    return _CLUSTER


harness.get_global_cluster = get_global_cluster
