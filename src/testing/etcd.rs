//! Real etcd members for the tests of the store on etcd: a one-member cluster shared by a test
//! binary, or clusters of several members on loopback ports whose members can be stopped
//! (`kill -9`) and started again. The `etcd` binary is Debian's `etcd-server` (or the one
//! named by `APISTORE_ETCD`); a test that needs it and cannot find it fails, it never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a member may take to answer its health check after starting.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A free loopback port. Ports come from a range below the kernel's ephemeral ones, in
/// sequence from a base this process picks, so clusters started at once by the tests of one
/// binary never get the same port (ports bound and released at once by the kernel's choice
/// could be handed out twice).
pub fn free_port() -> u16 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = 20_000 + (u64::from(std::process::id()) % 500) * 20;
    loop {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        let port = u16::try_from(base + offset).unwrap_or(20_000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn etcd_binary() -> PathBuf {
    std::env::var_os("APISTORE_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("etcd"))
}

/// One member of a test cluster.
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Member {
    fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }
}

/// A cluster of etcd members on loopback ports, each in its own temporary directory; every
/// member is killed when the cluster is dropped.
pub struct EtcdCluster {
    members: Vec<Member>,
    initial_cluster: String,
    _dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts a cluster of `size` members and waits until every one answers its health check.
    ///
    /// # Panics
    /// When `etcd` cannot be run or a member does not become healthy.
    pub fn start(size: usize) -> EtcdCluster {
        let dir = tempfile::tempdir().expect("a directory for etcd");
        let members: Vec<Member> = (0..size)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: free_port(),
                peer_port: free_port(),
                dir: dir.path().join(format!("m{i}")),
                child: None,
            })
            .collect();
        let initial_cluster = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            initial_cluster,
            _dir: dir,
        };
        for i in 0..size {
            cluster.spawn(i);
        }
        for i in 0..size {
            cluster.wait_healthy(i);
        }
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let initial_cluster = self.initial_cluster.clone();
        let member = &mut self.members[i];
        std::fs::create_dir_all(&member.dir).expect("member directory");
        let log = std::fs::File::create(member.dir.join("etcd.log")).expect("member log");
        let child = Command::new(etcd_binary())
            .arg("--name")
            .arg(&member.name)
            .arg("--data-dir")
            .arg(member.dir.join("data"))
            .arg("--listen-client-urls")
            .arg(member.client_url())
            .arg("--advertise-client-urls")
            .arg(member.client_url())
            .arg("--listen-peer-urls")
            .arg(member.peer_url())
            .arg("--initial-advertise-peer-urls")
            .arg(member.peer_url())
            .arg("--initial-cluster")
            .arg(initial_cluster)
            .arg("--initial-cluster-token")
            .arg("apistore-test")
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--log-level")
            .arg("warn")
            .arg("--logger")
            .arg("zap")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {:?} ({e}): install Debian's etcd-server or set APISTORE_ETCD",
                    etcd_binary()
                )
            });
        // A watchdog kills the member once this process is gone, however it ends: a shared
        // cluster lives in a static and is never dropped.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {parent} 2>/dev/null; do kill -0 {child} 2>/dev/null || exit 0; sleep 0.5; done; kill -9 {child} 2>/dev/null",
                parent = std::process::id(),
                child = child.id()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        member.child = Some(child);
    }

    fn wait_healthy(&mut self, i: usize) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            let member = &mut self.members[i];
            if healthy(member.client_port) {
                return;
            }
            if let Some(Ok(Some(status))) = member.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(member.dir.join("etcd.log")).unwrap_or_default();
                panic!("etcd member {} exited ({status}):\n{log}", member.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let member = &self.members[i];
        let log = std::fs::read_to_string(member.dir.join("etcd.log")).unwrap_or_default();
        panic!("etcd member {} did not become healthy:\n{log}", member.name);
    }

    /// The client URLs of every member.
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::client_url).collect()
    }

    /// The client URL of member `i`.
    pub fn endpoint(&self, i: usize) -> String {
        self.members[i].client_url()
    }

    /// Kills member `i` (`kill -9`): its data stays, and [`EtcdCluster::restart`] brings it back.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data and waits until the cluster answers through it.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        self.wait_healthy(i);
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

/// Whether the member on `port` answers `GET /health` with a healthy cluster (a quorum).
pub fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.contains("\"health\":\"true\"")
}

/// The one-member cluster a test binary shares: started by the first caller, killed by its
/// watchdog when the binary exits.
pub fn shared() -> &'static EtcdCluster {
    static SHARED: OnceLock<EtcdCluster> = OnceLock::new();
    SHARED.get_or_init(|| EtcdCluster::start(1))
}

/// A key prefix no other caller in this process gets: tests sharing one cluster each work in
/// their own key space.
pub fn unique_prefix(what: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "/test-{}-{}-{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// What a [`Proxy`] does with the bytes between a store and etcd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// Forwards them.
    Up,
    /// Resets every connection and refuses new ones (a crashed or unreachable member).
    Cut,
    /// Keeps connections open and forwards nothing (a partition: requests time out).
    Blackhole,
}

/// A TCP proxy in front of one etcd member, whose link a test cuts, blackholes and heals:
/// fault injection between a store and etcd with the real client and the real server.
pub struct Proxy {
    port: u16,
    shared: std::sync::Arc<ProxyShared>,
}

struct ProxyShared {
    link: std::sync::Mutex<Link>,
    connections: std::sync::Mutex<Vec<TcpStream>>,
    stop: std::sync::atomic::AtomicBool,
}

impl Proxy {
    /// A proxy on a free loopback port forwarding to `target` (`http://host:port`).
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn start(target: &str) -> Proxy {
        let target = target.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = std::sync::Arc::new(ProxyShared {
            link: std::sync::Mutex::new(Link::Up),
            connections: std::sync::Mutex::new(Vec::new()),
            stop: std::sync::atomic::AtomicBool::new(false),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if accepting.link() == Link::Cut {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let Ok(mut open) = accepting.connections.lock() {
                    open.extend(client.try_clone().ok());
                    open.extend(server.try_clone().ok());
                }
                for (from, to) in [
                    (client.try_clone(), server.try_clone()),
                    (Ok(server), Ok(client)),
                ] {
                    if let (Ok(from), Ok(to)) = (from, to) {
                        let shared = accepting.clone();
                        std::thread::spawn(move || shared.pump(from, to));
                    }
                }
            }
        });
        Proxy { port, shared }
    }

    /// The proxy's client URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets what the link does from now on. Cutting resets every open connection, and so
    /// does healing a blackhole (the bytes it dropped broke every stream through it).
    pub fn set(&self, link: Link) {
        let before = self
            .shared
            .link
            .lock()
            .map(|mut now| std::mem::replace(&mut *now, link))
            .unwrap_or(Link::Up);
        if link == Link::Cut || before == Link::Blackhole {
            if let Ok(mut open) = self.shared.connections.lock() {
                for stream in open.drain(..) {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                }
            }
        }
    }
}

impl ProxyShared {
    fn link(&self) -> Link {
        self.link.lock().map_or(Link::Cut, |l| *l)
    }

    /// Copies `from` to `to` while the link is up; drops what it reads while blackholed.
    fn pump(&self, mut from: TcpStream, mut to: TcpStream) {
        let mut buffer = [0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            match self.link() {
                Link::Up => {
                    if to.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
                Link::Blackhole => {}
                Link::Cut => break,
            }
        }
        let _ = from.shutdown(std::net::Shutdown::Both);
        let _ = to.shutdown(std::net::Shutdown::Both);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.set(Link::Cut);
        // Wakes the accept loop so that it sees `stop`.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}
