# tests/python/test_http.py: the client against a fake server: 503 retried with the same ask key,
# errors mapped to exceptions; the bearer token sent, 401/403 never retried nor showing the token.
import http.server
import json
import threading
import unittest

import hpo_client
from hpo_client._http import Client


class Fake(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script = []       # (status, body, headers) answered in turn
    seen = []         # (method, path, body)
    auth = []         # the Authorization header of each request (None: none)

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        Fake.seen.append((self.command, self.path, body))
        Fake.auth.append(self.headers.get("Authorization"))
        status, out, headers = Fake.script.pop(0)
        data = json.dumps(out).encode() if out is not None else b""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *a):
        pass


class FakeServerTest(unittest.TestCase):
    """Starts Fake on a free loopback port for the test classes below."""

    @classmethod
    def setUpClass(cls):
        cls.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
        cls.th = threading.Thread(target=cls.srv.serve_forever, daemon=True)
        cls.th.start()
        cls.url = "http://127.0.0.1:%d" % cls.srv.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def setUp(self):
        Fake.script, Fake.seen, Fake.auth = [], [], []


class TestHttp(FakeServerTest):

    def test_503_is_retried_and_ask_keeps_its_key(self):
        unavailable = {"error": {"code": "unavailable", "message": "database down"}}
        trial = {"number": 0, "state": "running", "params": {}, "distributions": {},
                 "intermediate_values": []}
        study = {"name": "s", "directions": ["minimize"], "sampler": {"type": "tpe"},
                 "pruner": {"type": "none"}, "search_space": {}, "max_trials": None,
                 "user_attrs": {}}
        Fake.script = [(200, study, {}),
                       (503, unavailable, {"Retry-After": "0"}),
                       (503, unavailable, {"Retry-After": "0"}),
                       (204, None, {"Retry-After": "0"}),
                       (201, trial, {})]
        st = hpo_client.load_study(study_name="s", storage=Client(self.url, backoff=0.01))
        t = st.ask()
        self.assertEqual(t.number, 0)
        asks = [b for m, p, b in Fake.seen if p.endswith("/trials")]
        self.assertEqual(len(asks), 4)
        self.assertEqual(len({b["idempotency_key"] for b in asks[:3]}), 1)

    def test_error_mapping_and_exhausted_retries(self):
        c = Client(self.url, retries=1, backoff=0.01)
        Fake.script = [(409, {"error": {"code": "trial_finished", "message": "done",
                                        "field": None}}, {})]
        with self.assertRaises(hpo_client.TrialFinishedError) as cm:
            c.post("/studies/s/trials/0/finish", {"state": "complete", "value": 1})
        self.assertEqual((cm.exception.status, cm.exception.message), (409, "done"))
        Fake.script = [(503, {"error": {"code": "unavailable", "message": "down"}},
                        {"Retry-After": "0"})] * 2
        with self.assertRaises(hpo_client.UnavailableError):
            c.get("/studies")
        self.assertEqual(len(Fake.seen), 3)
        Fake.script = [(500, None, {})]
        with self.assertRaises(hpo_client.HpoError) as cm:
            c.get("/studies")
        self.assertEqual(cm.exception.status, 500)


TOKEN = "hpo_" + "S3cr3t-t0ken_" * 3 + "abcd"   # 43 characters after hpo_, as the server's


class Counting(Client):
    """A Client that counts its retry sleeps instead of sleeping."""

    sleeps = 0

    def _sleep(self, delay, floor):
        self.sleeps += 1


class TestAuthHeader(FakeServerTest):
    def test_bearer_token_on_every_request(self):
        c = Client(self.url, token=TOKEN)
        Fake.script = [(200, {"studies": []}, {}), (201, {"number": 0}, {})]
        c.get("/studies")
        c.post("/studies/s/queue", {"params": {}}, idempotent=False)
        self.assertEqual(Fake.auth, ["Bearer " + TOKEN] * 2)

    def test_401_and_403_are_never_retried_and_never_show_the_token(self):
        for status, code, cls in ((401, "unauthenticated", hpo_client.UnauthenticatedError),
                                  (403, "permission_denied", hpo_client.PermissionDeniedError)):
            c = Counting(self.url, retries=5, backoff=0.01, token=TOKEN)
            # a server that echoes the token must not get it into the exception
            Fake.script = [(status, {"error": {"code": code,
                                               "message": "refused " + TOKEN}}, {})] * 6
            Fake.seen = []
            with self.assertRaises(cls) as cm:
                c.post("/studies/s/trials", {"worker": "w"})
            e = cm.exception
            self.assertIsInstance(e, hpo_client.AuthError)
            self.assertEqual((e.status, e.code), (status, code))
            self.assertEqual(len(Fake.seen), 1, "%d was retried" % status)
            self.assertEqual(c.sleeps, 0)
            for text in (str(e), repr(e), e.message, repr(c), repr(c.credentials)):
                self.assertNotIn(TOKEN, text)
                self.assertNotIn(TOKEN[4:20], text)
            self.assertIn("the token argument", str(e))   # where the token came from

    def test_401_without_a_token_says_how_to_give_one(self):
        c = Counting(self.url, retries=5, backoff=0.01,
                     credentials=hpo_client._auth.resolve(environ={}))
        Fake.script = [(401, {"error": {"code": "unauthenticated", "message": "no token"}}, {})]
        with self.assertRaises(hpo_client.UnauthenticatedError) as cm:
            c.get("/studies")
        self.assertEqual(Fake.auth, [None])
        self.assertIn("HPO_TOKEN", str(cm.exception))
        self.assertEqual(c.sleeps, 0)


if __name__ == "__main__":
    unittest.main()
