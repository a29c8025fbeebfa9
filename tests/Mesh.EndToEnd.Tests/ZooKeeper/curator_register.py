"""Registers one service instance the way Apache Curator's ServiceDiscovery does: an ephemeral node
BASE/NAME/ID holding Curator's JSON ServiceInstance, made over the ZooKeeper protocol by kazoo
(Debian's python3-kazoo) authenticated with a registry token. Prints the instance id once
registered, or the error class if the registry refuses; when stdin closes it ends the session,
which is how a Curator app's instance goes away.

usage: curator_register.py HOSTS TOKEN BASE NAME ADDRESS PORT"""
import json
import logging
import sys
import time
import uuid

from kazoo.client import KazooClient

logging.basicConfig(level=logging.ERROR)  # kazoo's connection chatter off stderr; errors stay
hosts, token, base, name, address, port = sys.argv[1:7]
zk = KazooClient(hosts=hosts, timeout=10, auth_data=[('digest', 'app:' + token)])
zk.start(timeout=30)
instance_id = str(uuid.uuid4())
instance = {
    'name': name, 'id': instance_id, 'address': address, 'port': int(port), 'sslPort': None,
    'payload': None, 'registrationTimeUTC': int(time.time() * 1000), 'serviceType': 'DYNAMIC',
    'uriSpec': {'parts': [{'value': 'scheme', 'variable': True}, {'value': '://', 'variable': False},
                          {'value': 'address', 'variable': True}, {'value': ':', 'variable': False},
                          {'value': 'port', 'variable': True}]},
}
try:
    zk.create('%s/%s/%s' % (base, name, instance_id), json.dumps(instance).encode(), ephemeral=True, makepath=True)
    print(instance_id, flush=True)
except Exception as error:
    print('refused ' + type(error).__name__, flush=True)
sys.stdin.read()
zk.stop()
zk.close()
