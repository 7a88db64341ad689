"""What make bench and make membudget measure against: the local DynamoDB behind a fault-free
proxy, and device configs pointing at it."""

import os
import shutil

from local.chaosproxy import ChaosProxy
from local.localddb import LocalDynamoDB


class Site:
    """The local DynamoDB behind a fault-free proxy, and device configs pointing at it."""

    def __init__(self, workdir):
        self.workdir = workdir
        shutil.rmtree(workdir, ignore_errors=True)
        # moto plain behind the proxy: the device's TLS ends at the proxy, as it ends at AWS's edge,
        # and no second handshake per request (moto closes every connection) blurs the figures.
        self.ddb = LocalDynamoDB(workdir, tls=False).start().provision()
        self.proxy = None

    def fresh_proxy(self):
        if self.proxy:
            self.proxy.stop()
        pki = os.path.join(self.workdir, "pki")
        self.proxy = ChaosProxy(
            self.ddb.port,
            None,
            os.path.join(pki, "server.pem"),
            os.path.join(pki, "server.key"),
            credentials=self.ddb.device_key,
        ).start()
        return self.proxy

    def config(self, name, readings, interval_s=0, extra=""):
        folder = os.path.join(self.workdir, name)
        shutil.rmtree(folder, ignore_errors=True)
        self.ddb.write_config(
            folder,
            device_id=name,
            readings=readings,
            interval_s=interval_s,
            host="localhost:%d" % self.proxy.port,
            extra=extra,
        )
        return folder

    def stop(self):
        if self.proxy:
            self.proxy.stop()
        self.ddb.stop()
