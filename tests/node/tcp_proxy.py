"""A loopback TCP proxy the tests can cut: the daemons' RPC goes through it.

``block()`` closes the listening socket and every open connection, so clients
get "connection refused" exactly as if the RPC server had stopped;
``unblock()`` listens on the same port again, as a restarted server would.
"""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.upstream_port = host, upstream_port
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        probe = socket.socket()
        probe.bind((host, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.unblock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def unblock(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def block(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            listener.close()
        self._cut(conns)

    def retarget(self, upstream_port: int) -> None:
        """Forward new connections to ``upstream_port`` (a redeployed devnet's Anvil listens on a new port).

        Open connections to the old upstream are cut; clients keep the proxy's URL, as they would keep a
        load balancer's address while the server behind it is replaced.
        """
        with self._lock:
            self.upstream_port = upstream_port
            conns, self._conns = self._conns, []
        self._cut(conns)

    def close(self) -> None:
        self.block()

    @staticmethod
    def _cut(conns: list[socket.socket]) -> None:
        """Close ``conns`` at once in both directions, as a server that went away would."""
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by block()
            try:
                upstream = socket.create_connection((self.host, self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
