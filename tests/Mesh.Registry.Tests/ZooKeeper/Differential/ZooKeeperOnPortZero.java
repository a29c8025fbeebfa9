import java.io.File;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import org.apache.zookeeper.server.ContainerManager;
import org.apache.zookeeper.server.RequestProcessor;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.zookeeper.server.persistence.FileTxnSnapLog;

/**
 * A standalone ZooKeeper 3.8 server (Debian's zookeeper.jar, unchanged) on 127.0.0.1 port 0, the
 * way ZooKeeperServerMain composes one, because zoo.cfg refuses clientPort=0. Prints
 * "PORT n" once it listens and stops when stdin closes, so it never outlives its test. Like
 * ZooKeeperServerMain it runs a ContainerManager (reaping containers and TTL nodes), with its
 * system properties (znode.container.checkIntervalMs, maxPerMinute, maxNeverUsedIntervalMs).
 */
public final class ZooKeeperOnPortZero {
    public static void main(String[] args) throws Exception {
        File data = new File(args[0]);
        FileTxnSnapLog log = new FileTxnSnapLog(data, data);
        ZooKeeperServer server = new ZooKeeperServer(log, 2000, 4000, 40000, -1, null, "");
        ServerCnxnFactory factory = ServerCnxnFactory.createFactory(new InetSocketAddress("127.0.0.1", 0), 100);
        factory.startup(server);
        // ZooKeeperServerMain hands the manager the server's first request processor, a protected field.
        Field first = ZooKeeperServer.class.getDeclaredField("firstProcessor");
        first.setAccessible(true);
        ContainerManager containers = new ContainerManager(server.getZKDatabase(), (RequestProcessor) first.get(server),
            Integer.getInteger("znode.container.checkIntervalMs", 60000), Integer.getInteger("znode.container.maxPerMinute", 10000),
            Long.getLong("znode.container.maxNeverUsedIntervalMs", 0));
        containers.start();
        System.out.println("PORT " + factory.getLocalPort());
        System.out.flush();
        while (System.in.read() != -1) {
        }
        containers.stop();
        factory.shutdown();
        server.shutdown();
    }
}
