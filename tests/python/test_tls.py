# tests/python/test_tls.py: the client against a fake https server with a certificate for
# "localhost" only: verified with cacert= / HPO_CACERT, refused without it or under another name.
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import unittest

import hpo_client
from hpo_client._http import Client, client_for

TOKEN = "hpo_" + "T" * 43


class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    auth = []

    def do_GET(self):
        Answer.auth.append(self.headers.get("Authorization"))
        data = json.dumps({"studies": []}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


class TLSServer(http.server.ThreadingHTTPServer):
    context = None

    def get_request(self):
        sock, addr = super().get_request()
        # the handshake happens in the handler's thread, so a refused one does not stop the loop
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass   # the refused handshakes of the tests below


class Counting(Client):
    sleeps = 0

    def _sleep(self, delay, floor):
        self.sleeps += 1


class TestTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="hpo-tls-test-")
        cls.cert, key = os.path.join(cls.dir, "cert.pem"), os.path.join(cls.dir, "key.pem")
        # a self-signed certificate (its own CA) naming only DNS:localhost, not 127.0.0.1
        r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                            "-keyout", key, "-out", cls.cert], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("openssl could not make a test certificate: " + r.stderr)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cls.cert, key)
        TLSServer.context = ctx
        cls.srv = TLSServer(("127.0.0.1", 0), Answer)
        cls.port = cls.srv.server_address[1]
        threading.Thread(target=cls.srv.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        Answer.auth = []

    def test_verified_with_cacert(self):
        c = Client("https://localhost:%d" % self.port, token=TOKEN, cacert=self.cert)
        self.assertEqual(c.get("/studies"), {"studies": []})
        self.assertEqual(Answer.auth, ["Bearer " + TOKEN])

    def test_verified_with_hpo_cacert(self):
        saved = os.environ.get("HPO_CACERT")
        os.environ["HPO_CACERT"] = self.cert
        try:
            c = client_for("https://localhost:%d" % self.port, token=TOKEN)
            self.assertEqual(c.get("/studies"), {"studies": []})
        finally:
            if saved is None:
                os.environ.pop("HPO_CACERT", None)
            else:
                os.environ["HPO_CACERT"] = saved

    def test_unknown_ca_is_refused_at_once(self):
        # the system's CAs do not know this certificate; the token must not have been sent
        c = Counting("https://localhost:%d" % self.port, retries=5, backoff=0.01,
                     credentials=hpo_client._auth.resolve(TOKEN, environ={}))
        with self.assertRaises(hpo_client.CertificateError) as cm:
            c.get("/studies")
        self.assertEqual(c.sleeps, 0, "a certificate error was retried")
        self.assertEqual(Answer.auth, [])
        self.assertIn("HPO_CACERT", str(cm.exception))

    def test_host_name_is_checked(self):
        # the right CA, but the certificate does not name 127.0.0.1
        c = Counting("https://127.0.0.1:%d" % self.port, retries=5, backoff=0.01, token=TOKEN,
                     cacert=self.cert)
        with self.assertRaises(hpo_client.CertificateError):
            c.get("/studies")
        self.assertEqual(Answer.auth, [])
        self.assertEqual(c.sleeps, 0)


if __name__ == "__main__":
    unittest.main()
