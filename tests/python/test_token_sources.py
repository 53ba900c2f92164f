# tests/python/test_token_sources.py: where the client's token and CA file come from (argument,
# token file, HPO_TOKEN, HPO_TOKEN_FILE, HPO_CACERT), which wins, and the errors; no server needed.
import os
import tempfile
import unittest

import hpo_client
from hpo_client import _auth
from hpo_client._http import Client, client_for

TOKEN = "hpo_" + "A" * 43
OTHER = "hpo_" + "B" * 43


class TestTokenSources(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def file(self, text, name="token"):
        path = os.path.join(self.dir.name, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def test_argument_beats_environment(self):
        env = {"HPO_TOKEN": OTHER}
        self.assertEqual(_auth.resolve(TOKEN, environ=env).header(), "Bearer " + TOKEN)
        path = self.file(TOKEN + "\n")
        c = _auth.resolve(token_file=path, environ={"HPO_TOKEN_FILE": self.file(OTHER, "o")})
        self.assertEqual(c.header(), "Bearer " + TOKEN)
        self.assertEqual(_auth.resolve(environ=env).header(), "Bearer " + OTHER)
        self.assertIsNone(_auth.resolve(environ={}).header())

    def test_token_file_first_line_stripped(self):
        path = self.file("  \t%s  \nsecond line is not read\n" % TOKEN)
        self.assertEqual(_auth.resolve(token_file=path, environ={}).header(), "Bearer " + TOKEN)
        c = _auth.resolve(environ={"HPO_TOKEN_FILE": path})
        self.assertEqual(c.header(), "Bearer " + TOKEN)
        self.assertIn(path, c.source)

    def test_token_and_token_file_together_is_an_error(self):
        path = self.file(TOKEN)
        with self.assertRaises(ValueError):
            _auth.resolve(TOKEN, path, environ={})
        with self.assertRaises(ValueError):
            _auth.resolve(environ={"HPO_TOKEN": TOKEN, "HPO_TOKEN_FILE": path})
        with self.assertRaises(ValueError):
            Client("http://127.0.0.1:1", token=TOKEN, token_file=path)

    def test_bad_token_files(self):
        with self.assertRaisesRegex(ValueError, "no token"):
            _auth.resolve(token_file=self.file("\n" + TOKEN + "\n"), environ={})
        missing = os.path.join(self.dir.name, "missing")
        with self.assertRaisesRegex(ValueError, "cannot read the token file .*missing"):
            _auth.resolve(environ={"HPO_TOKEN_FILE": missing})

    def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(self):
        for bad in (TOKEN[:20] + " " + TOKEN[20:], TOKEN[:20] + "\r\nX-Evil: 1", TOKEN + "é"):
            with self.assertRaises(ValueError) as cm:
                Client("http://127.0.0.1:1", token=bad)
            self.assertNotIn(TOKEN[4:20], str(cm.exception))
        with self.assertRaises(ValueError) as cm:
            _auth.resolve(token_file=self.file(TOKEN[:20] + "\x00" + TOKEN[20:]), environ={})
        self.assertNotIn(TOKEN[4:20], str(cm.exception))

    def test_no_repr_shows_the_token(self):
        c = Client("http://127.0.0.1:1", token=TOKEN)
        self.assertNotIn(TOKEN[4:], repr(c))
        self.assertNotIn(TOKEN[4:], repr(c.credentials))
        self.assertIn("the token argument", repr(c))
        study = hpo_client.Study("s", c, config={"directions": ["minimize"]})
        self.assertNotIn(TOKEN[4:], repr(study))

    def test_cacert(self):
        self.assertEqual(_auth.resolve(environ={"HPO_CACERT": "/ca.pem"}).cacert, "/ca.pem")
        self.assertEqual(_auth.resolve(cacert="/mine.pem",
                                       environ={"HPO_CACERT": "/ca.pem"}).cacert, "/mine.pem")
        with self.assertRaisesRegex(ValueError, "https"):
            Client("http://127.0.0.1:1", cacert="/ca.pem")   # a CA for plain http: a mistake
        with self.assertRaisesRegex(ValueError, "cannot load the CA file"):
            Client("https://127.0.0.1:1", cacert=os.path.join(self.dir.name, "missing.pem"))

    def test_client_for_follows_the_environment(self):
        saved = {k: os.environ.pop(k, None) for k in ("HPO_TOKEN", "HPO_TOKEN_FILE")}
        try:
            os.environ["HPO_TOKEN"] = TOKEN
            a = client_for("http://127.0.0.1:1")
            self.assertIs(client_for("http://127.0.0.1:1"), a)
            os.environ["HPO_TOKEN"] = OTHER
            b = client_for("http://127.0.0.1:1")
            self.assertIsNot(a, b)
            self.assertEqual(b.credentials.header(), "Bearer " + OTHER)
            self.assertEqual(client_for("http://127.0.0.1:1", token=TOKEN).credentials.header(),
                             "Bearer " + TOKEN)
            with self.assertRaises(ValueError):   # the Client already has its credentials
                client_for(a, token=TOKEN)
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None)
                if v is not None:
                    os.environ[k] = v


if __name__ == "__main__":
    unittest.main()
